//! Write bodies of all three JSON writer endpoints must parse or fail cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sightline_wire::storage_writer::{
    WriteBatchesRequestExternal, WriteColumnBatchesRequest, WriteLogsRequest,
};

fuzz_target!(|data: &[u8]| {
    let _ = sightline_wire::from_json_slice::<WriteBatchesRequestExternal>(data);
    let _ = sightline_wire::from_json_slice::<WriteColumnBatchesRequest>(data);
    let _ = sightline_wire::from_json_slice::<WriteLogsRequest>(data);
});
