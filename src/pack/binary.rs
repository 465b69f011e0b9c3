//! Lambda runs Linux: every built binary must be an ELF file for the layer's architectures.

use std::io::Read;
use std::path::Path;

use object::FileKind;
use object::elf;
use object::read::elf::FileHeader;

use crate::error::{Error, Kind, Result};
use crate::project::runtimes::Glibc;

/// The Lambda architecture name of an ELF machine, if Lambda runs it.
fn lambda_arch(machine: elf::Machine) -> Option<&'static str> {
    match machine {
        elf::EM_X86_64 => Some("x86_64"),
        elf::EM_AARCH64 => Some("arm64"),
        _ => None,
    }
}

/// The Lambda architecture of a `--target` triple, or of the host.
pub fn arch_of_triple(triple: &str) -> Option<&'static str> {
    match triple.split('-').next()? {
        "x86_64" => Some("x86_64"),
        "aarch64" => Some("arm64"),
        _ => None,
    }
}

pub fn host_arch() -> Option<&'static str> {
    arch_of_triple(std::env::consts::ARCH)
}

/// What a layer needs to know about an ELF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elf {
    /// The Lambda architecture, or None for a machine Lambda does not run.
    pub arch: Option<&'static str>,
    pub machine: elf::Machine,
    /// An executable or shared object (not a relocatable object or core file).
    pub loadable: bool,
    /// The highest `GLIBC_x.y` in its version needs; None for static (musl) binaries.
    pub glibc: Option<Glibc>,
}

/// Read the first bytes of `path`, to tell ELF files from the rest without reading them whole.
fn head(path: &Path) -> Result<Vec<u8>> {
    let mut head = Vec::with_capacity(64);
    std::fs::File::open(path)
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .map_err(|e| Error::io("read", path, e))?;
    Ok(head)
}

/// `Some` for a 64-bit ELF file, with what it needs; None for any other file.
pub fn inspect(path: &Path) -> Result<Option<Elf>> {
    if !matches!(FileKind::parse(&head(path)?[..]), Ok(FileKind::Elf64)) {
        return Ok(None);
    }
    let data = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    let broken = |e: object::read::Error| {
        Error::new(
            Kind::Package,
            format!("{} is a damaged ELF file ({e})", path.display()),
        )
        .fix("rebuild it")
    };
    let header = elf::FileHeader64::<object::Endianness>::parse(&data[..]).map_err(broken)?;
    let endian = header.endian().map_err(broken)?;
    let machine = header.e_machine(endian);
    let kind = header.e_type(endian);
    let sections = header.sections(endian, &data[..]).map_err(broken)?;
    let glibc = glibc_needed(&sections, endian, &data).map_err(broken)?;
    Ok(Some(Elf {
        arch: lambda_arch(machine),
        machine,
        loadable: kind == elf::ET_EXEC || kind == elf::ET_DYN,
        glibc,
    }))
}

type Sections<'data> =
    object::read::elf::SectionTable<'data, elf::FileHeader64<object::Endianness>>;

/// The highest glibc version named in the GNU version-needs section (`readelf -V`).
fn glibc_needed(
    sections: &Sections,
    endian: object::Endianness,
    data: &[u8],
) -> object::read::Result<Option<Glibc>> {
    let Some((mut needs, link)) = sections.gnu_verneed(endian, data)? else {
        return Ok(None);
    };
    let strings = sections.strings(endian, data, link)?;
    let mut highest = None;
    while let Some((_, mut aux)) = needs.next()? {
        while let Some(entry) = aux.next()? {
            let name = String::from_utf8_lossy(entry.name(endian, strings)?);
            highest = highest.max(glibc_of(&name));
        }
    }
    Ok(highest)
}

/// `GLIBC_2.34` -> 2.34. `GLIBC_ABI_DT_RELR` marks binaries that need glibc 2.36's packed
/// relocations; `GLIBC_PRIVATE` and other markers carry no version.
fn glibc_of(name: &str) -> Option<Glibc> {
    let version = name.strip_prefix("GLIBC_")?;
    if version == "ABI_DT_RELR" {
        return Some(Glibc::new(2, 36));
    }
    Glibc::parse(version)
}

/// Check that a binary cargo built is a 64-bit Linux ELF for every architecture in `archs`.
pub fn check(path: &Path, archs: &[String]) -> Result<Elf> {
    let head = head(path)?;
    match FileKind::parse(&head[..]) {
        Ok(FileKind::Elf64) => {}
        Ok(other) => {
            return Err(Error::new(Kind::Package, format!("{} is a {} file, not a 64-bit Linux ELF binary", path.display(), describe(other))).fix("build Linux binaries from any host with builder = \"zigbuild\" in [package.metadata.layer] (or --builder zigbuild), or with --target x86_64-unknown-linux-gnu / aarch64-unknown-linux-gnu on Linux"));
        }
        Err(_) => {
            return Err(Error::new(
                Kind::Package,
                format!(
                    "{} is not an executable binary (no ELF header)",
                    path.display()
                ),
            )
            .fix("Lambda runs Linux ELF binaries only"));
        }
    }
    let elf = inspect(path)?.ok_or_else(|| {
        Error::new(
            Kind::Package,
            format!("{} has a truncated ELF header", path.display()),
        )
        .fix("rebuild it")
    })?;
    check_arch(path, &elf, archs)?;
    Ok(elf)
}

/// Every architecture the layer declares must be the binary's.
pub fn check_arch(path: &Path, elf: &Elf, archs: &[String]) -> Result<()> {
    let machine = elf.machine;
    let actual = elf.arch.ok_or_else(|| {
        Error::new(
            Kind::Package,
            format!(
                "{} is built for ELF machine {machine:?}, which Lambda does not run",
                path.display()
            ),
        )
        .fix("build for x86_64 or aarch64")
    })?;
    if let Some(wanted) = archs.iter().find(|a| a.as_str() != actual) {
        return Err(Error::new(
            Kind::Package,
            format!(
                "{} is an {actual} binary but compatible-architectures includes \"{wanted}\"; build with --target {} or set compatible-architectures = [\"{actual}\"]",
                path.display(),
                default_triple(wanted)
            ),
        ));
    }
    Ok(())
}

/// A validated `compatible-architectures` value, as a static name.
pub fn arch_name(arch: &str) -> &'static str {
    if arch == "arm64" { "arm64" } else { "x86_64" }
}

/// The glibc target triple of a Lambda architecture.
pub fn default_triple(arch: &str) -> &'static str {
    if arch == "arm64" {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    }
}

fn describe(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Elf32 => "32-bit ELF",
        FileKind::MachO32 | FileKind::MachO64 | FileKind::MachOFat32 | FileKind::MachOFat64 => {
            "macOS Mach-O"
        }
        FileKind::Pe32 | FileKind::Pe64 | FileKind::Coff => "Windows PE/COFF",
        _ => "non-Linux",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf_header(machine: elf::Machine) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = elf::ELFCLASS64.0;
        h[5] = elf::ELFDATA2LSB.0;
        h[6] = 1;
        h[16] = 2; // ET_EXEC
        h[18..20].copy_from_slice(&machine.0.to_le_bytes());
        h
    }

    fn write(bytes: &[u8]) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), bytes).unwrap();
        f
    }

    #[test]
    fn accepts_matching_elf() {
        let f = write(&elf_header(elf::EM_X86_64));
        check(f.path(), &["x86_64".into()]).unwrap();
        let f = write(&elf_header(elf::EM_AARCH64));
        check(f.path(), &["arm64".into()]).unwrap();
    }

    #[test]
    fn rejects_architecture_mismatch() {
        let f = write(&elf_header(elf::EM_AARCH64));
        let err = check(f.path(), &["x86_64".into()]).unwrap_err();
        assert!(err.to_string().contains("is an arm64 binary"), "{err}");
        assert!(
            err.to_string().contains("compatible-architectures"),
            "{err}"
        );
    }

    #[test]
    fn rejects_macho_and_text() {
        let f = write(&[0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1, 3, 0, 0, 0, 2, 0, 0, 0]);
        let err = check(f.path(), &["x86_64".into()]).unwrap_err();
        assert!(err.to_string().contains("Mach-O"), "{err}");
        assert!(err.to_string().contains("builder = \"zigbuild\""), "{err}");
        let f = write(b"#!/bin/sh\necho hi\n");
        let err = check(f.path(), &[]).unwrap_err();
        assert!(err.to_string().contains("no ELF header"), "{err}");
    }

    #[test]
    fn glibc_version_names() {
        assert_eq!(glibc_of("GLIBC_2.34"), Some(Glibc::new(2, 34)));
        assert_eq!(glibc_of("GLIBC_2.2.5").unwrap().to_string(), "2.2.5");
        assert_eq!(glibc_of("GLIBC_ABI_DT_RELR"), Some(Glibc::new(2, 36)));
        assert_eq!(glibc_of("GLIBC_PRIVATE"), None);
        assert_eq!(glibc_of("GCC_3.0"), None);
    }

    #[test]
    fn triple_arch() {
        assert_eq!(arch_of_triple("aarch64-unknown-linux-musl"), Some("arm64"));
        assert_eq!(arch_of_triple("x86_64-unknown-linux-gnu"), Some("x86_64"));
        assert_eq!(arch_of_triple("riscv64gc-unknown-linux-gnu"), None);
    }
}
