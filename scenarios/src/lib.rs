//! Load scenarios for `nppa load` and the sizing model of `nppa size`.
//!
//! - [`sizing`]: the logout-burst model, formulas included
//! - [`burst`]: the logout-burst driver (batching, pacing, 1006, 3001 re-sends, record ages)
//! - [`recorder`]: HDR latency histograms per interface and errcode, and a per-second timeline
//! - [`people`]: synthetic players; [`answer`]: reading NPPA answers

pub mod answer;
pub mod burst;
pub mod engine;
pub mod people;
pub mod plots;
pub mod recorder;
pub mod report;
pub mod schedule;
pub mod sender;
pub mod simulate;
pub mod sizing;
pub mod target;
pub mod thresholds;
pub mod workloads;
