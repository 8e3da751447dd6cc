//! The simulator driven by the SDK client and by plain HTTP over 127.0.0.1: every endpoint, every
//! documented rule, faults, controls, concurrency and the binary.

mod common;

mod auth;
mod binary;
mod callbacks;
mod chats;
mod clock;
mod concurrency;
mod control;
mod data;
mod decoding;
mod faults;
mod join_way;
mod server;
mod statistic;
mod transfer;
