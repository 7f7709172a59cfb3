//! Generated upstream types, one module per Conjure package.

/// `io.nominal.api`
pub mod api;
/// `io.nominal.api.rids`
pub mod api_rids;
/// `io.nominal.datasource.api`
pub mod datasource;
/// `io.nominal.modules.api`
pub mod modules;
/// `io.nominal.persistent.compute.api`
pub mod persistent_compute;
/// `io.nominal.scout.compute.api`
pub mod scout_compute;
/// `io.nominal.scout.rids.api`
pub mod scout_rids;
/// `io.nominal.scout.run.api`
pub mod scout_run;
/// `io.nominal.scout.units.api`
pub mod scout_units;
/// `io.nominal.storage.series.api`
pub mod storage_series;
/// `io.nominal.storage.writer.api`
pub mod storage_writer;
