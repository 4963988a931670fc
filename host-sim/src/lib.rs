//! edgerank's feed-world simulator.
//!
//! A synthetic feed platform (users, creators, items, inauthentic amplification) whose
//! devices rank with the real `edgerank-core`, learn on device from simulated feedback, and
//! are compared across ranking policies. See the crate README for the model and the
//! `summary.json` schema.
//!
//! ```no_run
//! use edgerank_sim::sim::{run_compare, CompareConfig, NoProgress};
//! let summary = run_compare(&CompareConfig { users: 300, ..CompareConfig::default() }, &NoProgress).unwrap();
//! println!("{}", summary.policy("oracle").unwrap().ndcg_at_10);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod device;
pub mod metrics;
pub mod parity;
pub mod policy;
pub mod report;
pub mod rng;
pub mod server;
pub mod session;
pub mod sim;
pub mod train;
pub mod workload;
pub mod world;
