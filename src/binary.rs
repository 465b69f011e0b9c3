//! Lambda runs Linux: every built binary must be an ELF file for the layer's architectures.

use std::io::Read;
use std::path::Path;

use object::FileKind;
use object::elf;
use object::read::elf::FileHeader;

use crate::error::{Error, Result};

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

/// Check that `path` is a 64-bit Linux ELF for every architecture in `archs`.
pub fn check(path: &Path, archs: &[String]) -> Result<()> {
    let mut head = Vec::with_capacity(64);
    std::fs::File::open(path)
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .map_err(|e| Error::io("read", path, e))?;
    let machine = match FileKind::parse(&head[..]) {
        Ok(FileKind::Elf64) => elf_machine(&head).ok_or_else(|| {
            Error::package(format!(
                "{} has a truncated ELF header; rebuild it",
                path.display()
            ))
        })?,
        Ok(other) => {
            return Err(Error::package(format!(
                "{} is a {} file, not a 64-bit Linux ELF binary; build for Lambda with --target x86_64-unknown-linux-gnu or aarch64-unknown-linux-gnu (cargo-zigbuild or cross help off Linux)",
                path.display(),
                describe(other)
            )));
        }
        Err(_) => {
            return Err(Error::package(format!(
                "{} is not an executable binary (no ELF header); Lambda runs Linux ELF binaries only",
                path.display()
            )));
        }
    };
    let actual = lambda_arch(machine).ok_or_else(|| {
        Error::package(format!(
            "{} is built for ELF machine {machine:?}, which Lambda does not run; build for x86_64 or aarch64",
            path.display()
        ))
    })?;
    if let Some(wanted) = archs.iter().find(|a| a.as_str() != actual) {
        return Err(Error::package(format!(
            "{} is an {actual} binary but compatible-architectures includes \"{wanted}\"; build with --target {} or set compatible-architectures = [\"{actual}\"]",
            path.display(),
            if wanted == "arm64" {
                "aarch64-unknown-linux-gnu"
            } else {
                "x86_64-unknown-linux-gnu"
            }
        )));
    }
    Ok(())
}

fn elf_machine(head: &[u8]) -> Option<elf::Machine> {
    let header = elf::FileHeader64::<object::Endianness>::parse(head).ok()?;
    Some(header.e_machine(header.endian().ok()?))
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
        assert!(err.message.contains("is an arm64 binary"), "{err}");
        assert!(err.message.contains("compatible-architectures"), "{err}");
    }

    #[test]
    fn rejects_macho_and_text() {
        let f = write(&[0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1, 3, 0, 0, 0, 2, 0, 0, 0]);
        let err = check(f.path(), &["x86_64".into()]).unwrap_err();
        assert!(err.message.contains("Mach-O"), "{err}");
        let f = write(b"#!/bin/sh\necho hi\n");
        let err = check(f.path(), &[]).unwrap_err();
        assert!(err.message.contains("no ELF header"), "{err}");
    }

    #[test]
    fn triple_arch() {
        assert_eq!(arch_of_triple("aarch64-unknown-linux-musl"), Some("arm64"));
        assert_eq!(arch_of_triple("x86_64-unknown-linux-gnu"), Some("x86_64"));
        assert_eq!(arch_of_triple("riscv64gc-unknown-linux-gnu"), None);
    }
}
