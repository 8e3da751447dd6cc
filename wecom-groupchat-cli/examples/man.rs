//! `cargo run -p wecom-groupchat-cli --example man -- DIR`: writes the manual pages into DIR and prints
//! their paths. `cargo xtask man` runs it with DIR = target/man.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: man DIR");
        return ExitCode::from(2);
    };
    match wecom_groupchat_cli::man::write_pages(std::path::Path::new(&dir)) {
        Ok(paths) => {
            for path in paths {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write the manual pages into {}: {e}", std::path::Path::new(&dir).display());
            ExitCode::FAILURE
        }
    }
}
