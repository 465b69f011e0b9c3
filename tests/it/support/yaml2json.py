"""Print YAML files as one JSON object {path: document} for tests/action.rs.

Run with the Python in .venv, which has PyYAML (installed with check-jsonschema and moto).
YAML 1.1 reads the bare words on/off/yes/no as booleans, so a workflow's `on:` key would come
out as `true`; GitHub's parser does not do that, so only true/false are booleans here.
"""

import json
import re
import sys

import yaml


class Loader(yaml.SafeLoader):
    pass


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)

documents = {}
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as file:
        documents[path] = yaml.load(file, Loader=Loader)
json.dump(documents, sys.stdout)
