//! Boards and devices as data: `constraints/<board>.toml` names a device of
//! `constraints/devices.toml`, a package, the board's pin file (`.pcf` for iCE40, `.lpf` for
//! ECP5) and which of its pins are the clock, the UART, the LEDs and the button. Adding a board
//! (or a device) is adding files there; no code.
//!
//! ```toml
//! name = "icebreaker"
//! description = "iCEBreaker v1.0: iCE40 UP5K-SG48, 12 MHz, FT2232H UART"
//! device = "up5k"            # a table of devices.toml
//! package = "sg48"           # nextpnr's --package
//! speed = 6                  # optional, ECP5 speed grade
//! pin_file = "icebreaker.pcf"
//! [clock]
//! pin = "CLK"                # a name in the pin file
//! freq_mhz = 12.0            # the board's oscillator
//! target_mhz = 30.0          # optional: place-and-route target when --freq is not given
//! pll_pad = true             # optional, iCE40: the clock pin is the PLL's input pad
//! [pins]
//! uart_rx = "RX"             # optional, each a name in the pin file
//! uart_tx = "TX"
//! button = "BTN_N"
//! leds = ["LEDR_N", "LEDG_N"]
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The project's `constraints/` directory: `$SYSTOLIC_CONSTRAINTS` if set, else
/// `./constraints` if it exists, else the one in the source tree this binary was built from.
pub fn constraints_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SYSTOLIC_CONSTRAINTS") {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("constraints");
    if local.join(DEVICES_FILE).is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("constraints")
}

/// The device table inside a constraints directory.
pub const DEVICES_FILE: &str = "devices.toml";

/// An FPGA family: decides the Yosys command, the place-and-route tool, the packer and the
/// names of the cells counted in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ice40,
    Ecp5,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ice40 => "ice40",
            Family::Ecp5 => "ecp5",
        })
    }
}

impl Family {
    /// The PLL primitive of the family for a clock pin that is (`pad`) or is not the PLL's input
    /// pad.
    pub fn pll_kind(self, pad: bool) -> crate::pll::PllKind {
        match (self, pad) {
            (Family::Ice40, true) => crate::pll::PllKind::Ice40Pad,
            (Family::Ice40, false) => crate::pll::PllKind::Ice40Core,
            (Family::Ecp5, _) => crate::pll::PllKind::Ecp5,
        }
    }

    /// The extension of the family's pin files.
    pub fn pin_file_ext(self) -> &'static str {
        match self {
            Family::Ice40 => "pcf",
            Family::Ecp5 => "lpf",
        }
    }
}

/// One device of `devices.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// The table's key (`up5k`, `25k`); filled in on loading.
    #[serde(default)]
    pub name: String,
    pub family: Family,
    /// nextpnr's device flag without the dashes: `up5k` -> `--up5k`.
    pub nextpnr: String,
    /// synth_ice40's `-device` (`hx`, `lp`, `u`); iCE40 only.
    #[serde(default)]
    pub yosys_device: Option<String>,
    /// Logic cells (iCE40 LCs, ECP5 LUT4s).
    pub logic: u64,
    pub ffs: u64,
    /// Hard multipliers (SB_MAC16, MULT18X18D).
    pub dsp: u64,
    /// Block RAMs (SB_RAM40_4K, DP16KD).
    pub bram: u64,
    pub bram_kbit: u64,
}

/// The roles a board's pins can play in a design.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardPins {
    #[serde(default)]
    pub uart_rx: Option<String>,
    #[serde(default)]
    pub uart_tx: Option<String>,
    #[serde(default)]
    pub button: Option<String>,
    #[serde(default)]
    pub leds: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardClock {
    /// The clock's name in the pin file.
    pub pin: String,
    /// The board oscillator's frequency.
    pub freq_mhz: f64,
    /// The place-and-route target when none is given (default: `freq_mhz`).
    #[serde(default)]
    pub target_mhz: Option<f64>,
    /// iCE40: the clock pin is the PLL's own input pad, so a PLL must be `SB_PLL40_PAD` (the pad
    /// cannot also feed the fabric); otherwise `SB_PLL40_CORE` takes the clock from the fabric.
    /// Ignored on ECP5.
    #[serde(default)]
    pub pll_pad: bool,
}

/// A board file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBoard {
    name: String,
    #[serde(default)]
    description: String,
    device: String,
    package: String,
    #[serde(default)]
    speed: Option<u32>,
    pin_file: String,
    clock: BoardClock,
    #[serde(default)]
    pins: BoardPins,
}

/// A board, resolved: its device looked up, its pin file read and every named pin checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Board {
    pub name: String,
    pub description: String,
    pub device: Device,
    pub package: String,
    pub speed: Option<u32>,
    /// The pin file, as a path.
    pub pin_file: PathBuf,
    pub clock: BoardClock,
    pub pins: BoardPins,
    /// Every pin the pin file constrains, by name.
    #[serde(skip)]
    pub pin_map: PinMap,
}

/// What is wrong with a board or device file.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error("board `{name}` not found in {dir}: available boards: {available}")]
    Unknown {
        name: String,
        dir: String,
        available: String,
    },
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: device `{device}` is not in {devices}: known devices: {available}")]
    UnknownDevice {
        path: String,
        device: String,
        devices: String,
        available: String,
    },
    #[error("{path}: pin_file `{pin_file}` should be a .{ext} file for a {family} device")]
    PinFileKind {
        path: String,
        pin_file: String,
        ext: &'static str,
        family: Family,
    },
    #[error("{path}: {role} names pin `{pin}`, which {pin_file} does not constrain (it has: {available})")]
    UnknownPin {
        path: String,
        role: String,
        pin: String,
        pin_file: String,
        available: String,
    },
    #[error("--device {device} is a {found} device; board `{board}` has a {family} FPGA")]
    WrongFamily {
        device: String,
        found: Family,
        board: String,
        family: Family,
    },
}

fn read(path: &Path) -> Result<String, BoardError> {
    std::fs::read_to_string(path).map_err(|e| BoardError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// The devices of `dir/devices.toml`, by name.
pub fn load_devices(dir: &Path) -> Result<BTreeMap<String, Device>, BoardError> {
    let path = dir.join(DEVICES_FILE);
    let text = read(&path)?;
    let mut devices: BTreeMap<String, Device> =
        toml::from_str(&text).map_err(|e| BoardError::Parse {
            path: path.display().to_string(),
            message: one_line(&e.to_string()),
        })?;
    for (name, d) in devices.iter_mut() {
        d.name = name.clone();
    }
    Ok(devices)
}

/// Names of the boards in a constraints directory (its `*.toml` files but `devices.toml`),
/// sorted.
pub fn list_boards(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            if p.extension()? != "toml" || p.file_name()? == DEVICES_FILE {
                return None;
            }
            p.file_stem()?.to_str().map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

impl Board {
    /// Load board `name` (`dir/name.toml`), optionally on another device of the same family.
    pub fn load(dir: &Path, name: &str, device: Option<&str>) -> Result<Board, BoardError> {
        let path = dir.join(format!("{name}.toml"));
        if !path.is_file() {
            return Err(BoardError::Unknown {
                name: name.to_string(),
                dir: dir.display().to_string(),
                available: list_boards(dir).join(", "),
            });
        }
        Board::from_file(&path, device)
    }

    /// Load a board file; its device table and pin file are looked up beside it.
    pub fn from_file(path: &Path, device: Option<&str>) -> Result<Board, BoardError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let p = path.display().to_string();
        let raw: RawBoard = toml::from_str(&read(path)?).map_err(|e| BoardError::Parse {
            path: p.clone(),
            message: one_line(&e.to_string()),
        })?;
        let devices = load_devices(dir)?;
        let lookup = |name: &str| {
            devices
                .get(name)
                .cloned()
                .ok_or_else(|| BoardError::UnknownDevice {
                    path: p.clone(),
                    device: name.to_string(),
                    devices: dir.join(DEVICES_FILE).display().to_string(),
                    available: devices.keys().cloned().collect::<Vec<_>>().join(", "),
                })
        };
        let own = lookup(&raw.device)?;
        let device = match device {
            None => own,
            Some(d) => {
                let other = lookup(d)?;
                if other.family != own.family {
                    return Err(BoardError::WrongFamily {
                        device: d.to_string(),
                        found: other.family,
                        board: raw.name,
                        family: own.family,
                    });
                }
                other
            }
        };
        let ext = device.family.pin_file_ext();
        if !raw.pin_file.ends_with(&format!(".{ext}")) {
            return Err(BoardError::PinFileKind {
                path: p,
                pin_file: raw.pin_file,
                ext,
                family: device.family,
            });
        }
        let pin_file = dir.join(&raw.pin_file);
        let pin_map = PinMap::parse(device.family, &read(&pin_file)?);
        let positive = |f: f64| f.is_finite() && f > 0.0;
        if !positive(raw.clock.freq_mhz) || raw.clock.target_mhz.is_some_and(|t| !positive(t)) {
            return Err(BoardError::Parse {
                path: p,
                message: "clock frequencies must be positive".into(),
            });
        }
        let mut roles: Vec<(String, &String)> = vec![("clock.pin".into(), &raw.clock.pin)];
        for (role, pin) in [
            ("pins.uart_rx", &raw.pins.uart_rx),
            ("pins.uart_tx", &raw.pins.uart_tx),
            ("pins.button", &raw.pins.button),
        ] {
            if let Some(pin) = pin {
                roles.push((role.into(), pin));
            }
        }
        for (i, led) in raw.pins.leds.iter().enumerate() {
            roles.push((format!("pins.leds[{i}]"), led));
        }
        for (role, pin) in roles {
            if !pin_map.pins.contains_key(pin.as_str()) {
                return Err(BoardError::UnknownPin {
                    path: p,
                    role,
                    pin: pin.clone(),
                    pin_file: pin_file.display().to_string(),
                    available: pin_map.pins.keys().cloned().collect::<Vec<_>>().join(", "),
                });
            }
        }
        Ok(Board {
            name: raw.name,
            description: raw.description,
            device,
            package: raw.package,
            speed: raw.speed,
            pin_file,
            clock: raw.clock,
            pins: raw.pins,
            pin_map,
        })
    }

    pub fn family(&self) -> Family {
        self.device.family
    }

    /// The place-and-route target when none is given.
    pub fn default_target_mhz(&self) -> f64 {
        self.clock.target_mhz.unwrap_or(self.clock.freq_mhz)
    }

    /// A pin file for a design whose port `port` sits on the board's pin `pin`, for each pair:
    /// the board's lines for those pins with the names replaced (the other pins left out).
    pub fn pin_file_for(&self, ports: &[(&str, &str)]) -> String {
        let mut out = format!(
            "# Generated by systolic for board `{}` from {}.\n",
            self.name,
            self.pin_file.display()
        );
        for (port, pin) in ports {
            if let Some(lines) = self.pin_map.pins.get(*pin) {
                for line in lines {
                    out.push_str(&rename_in_line(self.family(), line, pin, port));
                    out.push('\n');
                }
            }
        }
        out
    }
}

/// The pins a pin file constrains: for each name, its lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PinMap {
    pub pins: BTreeMap<String, Vec<String>>,
}

impl PinMap {
    /// Read the pins of a `.pcf` (`set_io [-flags] NAME PIN`) or `.lpf` (`LOCATE COMP "NAME"
    /// SITE ...;`, `IOBUF PORT "NAME" ...;`) text. Comments and other commands are ignored.
    pub fn parse(family: Family, text: &str) -> PinMap {
        let mut pins: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in text.lines() {
            let code = line.split('#').next().unwrap_or("").trim();
            if code.is_empty() {
                continue;
            }
            let name = match family {
                Family::Ice40 => {
                    let words: Vec<&str> = code.split_whitespace().collect();
                    if words.first() != Some(&"set_io") {
                        continue;
                    }
                    // set_io [-nowarn] [-pullup yes] [-pullup_resistor 10K] NAME PIN
                    let mut i = 1;
                    while i < words.len() && words[i].starts_with('-') {
                        i += if matches!(words[i], "-pullup" | "-pullup_resistor") {
                            2
                        } else {
                            1
                        };
                    }
                    match words.get(i) {
                        Some(n) if i + 1 < words.len() => n.to_string(),
                        _ => continue,
                    }
                }
                Family::Ecp5 => {
                    let upper = code.to_ascii_uppercase();
                    if !(upper.starts_with("LOCATE COMP") || upper.starts_with("IOBUF PORT")) {
                        continue;
                    }
                    match code.split('"').nth(1) {
                        Some(n) => n.to_string(),
                        None => continue,
                    }
                }
            };
            pins.entry(name).or_default().push(code.to_string());
        }
        PinMap { pins }
    }
}

/// `line` with the pin name `from` replaced by `to`.
fn rename_in_line(family: Family, line: &str, from: &str, to: &str) -> String {
    match family {
        Family::Ice40 => line
            .split_whitespace()
            .map(|w| if w == from { to } else { w })
            .collect::<Vec<_>>()
            .join(" "),
        Family::Ecp5 => line.replacen(&format!("\"{from}\""), &format!("\"{to}\""), 1),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcf_names_and_flags() {
        let m = PinMap::parse(
            Family::Ice40,
            "# c\nset_io -nowarn CLK 35\nset_io -pullup yes BTN 10 # x\nset_frequency CLK 12\n",
        );
        assert_eq!(m.pins.keys().collect::<Vec<_>>(), ["BTN", "CLK"]);
        let b = rename_in_line(Family::Ice40, &m.pins["CLK"][0], "CLK", "clk");
        assert_eq!(b, "set_io -nowarn clk 35");
    }

    #[test]
    fn lpf_names() {
        let m = PinMap::parse(
            Family::Ecp5,
            "LOCATE COMP \"led[0]\" SITE \"B2\" ;\nIOBUF PORT \"led[0]\" IO_TYPE=LVCMOS33 ;\n\
             BLOCK RESETPATHS ;\n# LOCATE COMP \"x\" SITE \"A1\";\n",
        );
        assert_eq!(m.pins.len(), 1);
        assert_eq!(m.pins["led[0]"].len(), 2);
        let r = rename_in_line(Family::Ecp5, &m.pins["led[0]"][0], "led[0]", "scan_out");
        assert_eq!(r, "LOCATE COMP \"scan_out\" SITE \"B2\" ;");
    }
}
