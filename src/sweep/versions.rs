//! The versions of the tools a sweep's jobs use, asked once per sweep: they are part of every
//! point's key.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use crate::synth::tool::{self, Tool};
use crate::synth::Family;

use super::point::{Point, ToolVersions};

/// Versions found so far (each tool asked at most once).
#[derive(Default)]
pub struct VersionCache {
    found: BTreeMap<&'static str, String>,
}

impl VersionCache {
    fn get(
        &mut self,
        name: &'static str,
        ask: impl FnOnce() -> Result<String, String>,
    ) -> Result<String, String> {
        if let Some(v) = self.found.get(name) {
            return Ok(v.clone());
        }
        let v = ask()?;
        self.found.insert(name, v.clone());
        Ok(v)
    }

    /// The versions of the tools `point`'s job runs.
    pub fn for_point(&mut self, point: &Point) -> Result<ToolVersions, String> {
        let mut v = ToolVersions::default();
        if let Some(s) = &point.synth {
            v.yosys = Some(self.get("yosys", || located(Tool::Yosys))?);
            let family = crate::synth::Board::load(
                &crate::synth::constraints_dir(),
                &s.board,
                s.device.as_deref(),
            )
            .map_err(|e| e.to_string())?
            .family();
            v.nextpnr = Some(match family {
                Family::Ice40 => self.get("nextpnr-ice40", || located(Tool::NextpnrIce40))?,
                Family::Ecp5 => self.get("nextpnr-ecp5", || located(Tool::NextpnrEcp5))?,
            });
        }
        if point.job.simulates() {
            v.verilator = Some(self.get("verilator", verilator_version)?);
        }
        Ok(v)
    }
}

fn located(t: Tool) -> Result<String, String> {
    tool::locate(t)
        .map(|l| format!("{} {}", t.name(), l.version))
        .map_err(|e| e.to_string())
}

/// The first line `verilator --version` prints.
pub fn verilator_version() -> Result<String, String> {
    let mut cmd = Command::new("verilator");
    cmd.arg("--version");
    let run = crate::tools::run(&mut cmd, Duration::from_secs(60))
        .map_err(|e| format!("verilator not found ({e}): scripts/setup.sh installs it"))?;
    if !run.success() {
        return Err(format!(
            "`verilator --version` failed: {}",
            run.stderr.trim()
        ));
    }
    Ok(run.stdout.lines().next().unwrap_or("").trim().to_string())
}
