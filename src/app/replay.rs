//! `tcpstat history --replay`: placeholder.
use std::io::Write;

use crate::config::{HistoryOptions, ReplayOptions};
use crate::error::Error;

pub fn run(
    _options: &HistoryOptions,
    _replay: &ReplayOptions,
    _out: &mut dyn Write,
    _err: &mut dyn Write,
) -> Result<(), Error> {
    Ok(())
}
