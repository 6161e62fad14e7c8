//! Bitstream packers: icepack (`.asc` -> `.bin`) and ecppack (Trellis text configuration ->
//! `.bit`). Neither has a log option: their output is kept in the step's log file.

use std::path::Path;
use std::time::Duration;

use super::board::Family;
use super::tool::{run_in, Located, Step};
use super::SynthError;

/// One packer run. Paths are relative to the run folder.
#[derive(Debug, Clone)]
pub struct Pack {
    pub family: Family,
    pub input: String,
    pub output: String,
    pub log: String,
}

impl Pack {
    pub fn args(&self) -> Vec<String> {
        match self.family {
            Family::Ice40 => vec![self.input.clone(), self.output.clone()],
            Family::Ecp5 => vec![
                "--input".into(),
                self.input.clone(),
                "--bit".into(),
                self.output.clone(),
            ],
        }
    }

    pub fn run(&self, packer: &Located, dir: &Path, limit: Duration) -> Result<Step, SynthError> {
        let step = run_in(
            packer,
            &self.args(),
            dir,
            &self.log,
            false,
            limit,
            &mut || None,
        )?;
        let size = std::fs::metadata(dir.join(&self.output)).map_or(0, |m| m.len());
        if size == 0 {
            return Err(SynthError::ToolFailed {
                tool: packer.tool.name(),
                status: "exit status 0".into(),
                log: dir.join(&self.log),
                message: format!("{} is missing or empty", self.output),
            });
        }
        Ok(step)
    }
}
