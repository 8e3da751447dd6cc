//! Benchmarks of `wecom-groupchat` against its simulator, one module per measurement. The binary
//! (`wecom-groupchat-bench`, driven by `cargo xtask bench`) runs them and writes `docs/benchmarks.md`.

pub mod callback;
pub mod callback_floor;
pub mod codec;
pub mod codegen_time;
pub mod cputime;
pub mod fleet;
pub mod floor;
pub mod host;
pub mod machine;
pub mod memory;
pub mod mirror;
pub mod overhead;
pub mod peer;
pub mod report;
pub mod stampede;
pub mod stats;
pub mod sync;
pub mod throughput;
pub mod venv;
