//! Compiles the std-only helper programs in `bins/` (the echo test server and
//! the front-door proxy) into statically linked binaries that the crate
//! embeds with `include_bytes!` and packages `FROM scratch` at run time.
//!
//! Each program is one file compiled directly with `$RUSTC`, not as a cargo
//! target: `+crt-static` in RUSTFLAGS for a whole cargo build would break
//! proc-macros, and a separate cargo package would need its own workspace
//! entry.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out_dir = match std::env::var_os("OUT_DIR") {
        Some(d) => PathBuf::from(d),
        None => fail("OUT_DIR is not set"),
    };
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    // Both programs include it (`mod resolve;`).
    println!("cargo:rerun-if-changed=bins/resolve.rs");
    // The front door includes it (`mod host_match;`); so does the library.
    println!("cargo:rerun-if-changed=bins/host_match.rs");
    for name in ["echo", "front_door"] {
        let src = format!("bins/{name}.rs");
        println!("cargo:rerun-if-changed={src}");
        let out = out_dir.join(name);
        let status = Command::new(&rustc)
            .args([
                "--edition",
                "2021",
                "-O",
                "-C",
                "target-feature=+crt-static",
            ])
            .args([
                "-C",
                "panic=abort",
                "-C",
                "strip=symbols",
                "-C",
                "codegen-units=1",
            ])
            .arg("--crate-name")
            .arg(format!("apprun_{name}"))
            .arg("--crate-type")
            .arg("bin")
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => fail(&format!(
                "compiling {src} as a static binary failed ({s}); the Docker target needs \
                 a static C library (Debian: libc6-dev)"
            )),
            Err(e) => fail(&format!("cannot run rustc for {src}: {e}")),
        }
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(1);
}
