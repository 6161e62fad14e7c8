//! A sweep specification (`sweeps/*.toml`): the job, the fields every point shares, and the
//! axes and lists that make the points; parsed with the line of every key, expanded, and every
//! point resolved (configuration validated, board loaded, flow planned) before anything runs.
//!
//! ```toml
//! job = "synth"                      # synth | synth-verify | cosim | gemm-bench | infer
//! jobs = 2                           # local workers (default: the number of cores)
//! [base]                             # fields of every point
//! preset = "int8-4x4"
//! ooc = true
//! [axes]                             # their product
//! board = ["icebreaker", "ulx3s-25f"]
//! pe_latency = [1, 2, 3]
//! target = [{ preset = "int8-8x8", board = "ulx3s-85f" }]   # a table sets several fields
//! [[points]]                         # or an explicit list (each point a table of fields)
//! [[group]]                          # or groups: each its own base, axes and points
//! [slurm]                            # the Slurm backend's settings
//! ```
//!
//! Expansion: without groups the points are `points x product(axes)` over `base`; with groups,
//! each group's points are `top points x group points x product(top axes) x product(group
//! axes)` over `base` and the group's `base`, and the sweep is the groups' points in order. A
//! field set by a later source overrides an earlier one (base, group base, top point, group
//! point, top axes, group axes). Two points that resolve to the same key are one point.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::point::{self, Field, Fields, JobKind, Point};

/// A bad specification: `file:line: key: message`.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{file}:{line}: {key}: {message}")]
pub struct SpecError {
    pub file: String,
    pub line: usize,
    pub key: String,
    pub message: String,
}

/// The Slurm backend's settings (`[slurm]`; flags override them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmSettings {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` (Slurm's formats: minutes, `HH:MM:SS`, `D-HH`).
    pub time: Option<String>,
    /// `--mem` per task (`1500M`, `2G`; default: from the points' memory estimate).
    pub mem: Option<String>,
    /// `--cpus-per-task` (default 1).
    pub cpus_per_task: Option<u32>,
    /// At most this many tasks of an array at once (`--array=0-N%K`).
    pub max_running: Option<u32>,
    /// At most this many tasks per array (default and upper bound: the cluster's
    /// `MaxArraySize`); a larger sweep is split into several arrays.
    pub array_size: Option<u32>,
    /// Extra sbatch arguments, as given.
    #[serde(default)]
    pub extra_args: Vec<String>,
}

/// A parsed, expanded and fully resolved specification.
#[derive(Debug, Clone)]
pub struct Spec {
    pub path: PathBuf,
    /// The spec's name (`name = ...`, default the file stem): rows in a store carry it.
    pub name: String,
    pub job: JobKind,
    /// Local workers the spec asks for.
    pub jobs: Option<usize>,
    pub slurm: SlurmSettings,
    pub points: Vec<Point>,
    /// Points of the expansion dropped as duplicates of an earlier one.
    pub duplicates: usize,
}

type RawFields = BTreeMap<Spanned<String>, Spanned<toml::Value>>;
type RawAxes = BTreeMap<Spanned<String>, Spanned<Vec<Spanned<toml::Value>>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    job: Spanned<String>,
    #[serde(default)]
    name: Option<Spanned<String>>,
    #[serde(default)]
    jobs: Option<Spanned<i64>>,
    #[serde(default)]
    base: RawFields,
    #[serde(default)]
    axes: RawAxes,
    #[serde(default)]
    points: Vec<RawFields>,
    #[serde(default)]
    group: Vec<RawGroup>,
    #[serde(default)]
    slurm: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    #[serde(default)]
    base: RawFields,
    #[serde(default)]
    axes: RawAxes,
    #[serde(default)]
    points: Vec<RawFields>,
}

/// Line numbers of byte offsets in a text.
struct Lines<'a> {
    text: &'a str,
}

impl Lines<'_> {
    fn line(&self, span: &Range<usize>) -> usize {
        self.text[..span.start.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }
}

/// One choice of an axis: the fields it sets.
type Choice = Vec<(String, Field)>;

fn fields_of(raw: &RawFields, lines: &Lines) -> Choice {
    let mut v: Vec<(String, Field, usize)> = raw
        .iter()
        .map(|(k, val)| {
            (
                k.get_ref().clone(),
                Field {
                    value: val.get_ref().clone(),
                    line: lines.line(&k.span()),
                },
                k.span().start,
            )
        })
        .collect();
    v.sort_by_key(|(_, _, at)| *at);
    v.into_iter().map(|(k, f, _)| (k, f)).collect()
}

/// An axis's choices, in file order of the axes.
fn axes_of(raw: &RawAxes, lines: &Lines, file: &str) -> Result<Vec<Vec<Choice>>, SpecError> {
    let mut axes: Vec<(usize, Vec<Choice>)> = vec![];
    for (name, values) in raw {
        let key = name.get_ref();
        if values.get_ref().is_empty() {
            return Err(SpecError {
                file: file.into(),
                line: lines.line(&name.span()),
                key: key.clone(),
                message: "an axis needs at least one value".into(),
            });
        }
        let mut choices = vec![];
        for v in values.get_ref() {
            let line = lines.line(&v.span());
            let choice = match v.get_ref() {
                // A table sets several fields at once (the axis name is only a label).
                toml::Value::Table(t) => t
                    .iter()
                    .map(|(k, val)| {
                        (
                            k.clone(),
                            Field {
                                value: val.clone(),
                                line,
                            },
                        )
                    })
                    .collect(),
                other => vec![(
                    key.clone(),
                    Field {
                        value: other.clone(),
                        line,
                    },
                )],
            };
            choices.push(choice);
        }
        axes.push((name.span().start, choices));
    }
    axes.sort_by_key(|(at, _)| *at);
    Ok(axes.into_iter().map(|(_, c)| c).collect())
}

/// Every combination of one choice per axis (the first axis varies slowest).
fn product(axes: &[Vec<Choice>]) -> Vec<Choice> {
    let mut out: Vec<Choice> = vec![vec![]];
    for axis in axes {
        let mut next = Vec::with_capacity(out.len() * axis.len());
        for prefix in &out {
            for choice in axis {
                let mut c = prefix.clone();
                c.extend(choice.iter().cloned());
                next.push(c);
            }
        }
        out = next;
    }
    out
}

/// The error of a TOML syntax or shape problem, at its line, naming the key on that line.
fn toml_error(text: &str, file: &str, e: &toml::de::Error) -> SpecError {
    let line = e.span().map_or(1, |s| {
        text[..s.start.min(text.len())].matches('\n').count() + 1
    });
    let line_text = text.lines().nth(line - 1).unwrap_or("");
    let key = line_text
        .split_once('=')
        .map(|(k, _)| k.trim().to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('#') && !k.starts_with('['))
        .or_else(|| {
            let t = line_text.trim();
            t.starts_with('[')
                .then(|| t.trim_matches(['[', ']']).to_string())
        })
        .unwrap_or_else(|| "spec".into());
    let message = e.message().lines().next().unwrap_or("").trim().to_string();
    SpecError {
        file: file.into(),
        line,
        key,
        message,
    }
}

impl Spec {
    /// Read, parse, expand and resolve `path`.
    pub fn load(path: &Path) -> Result<Spec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|e| SpecError {
            file: path.display().to_string(),
            line: 0,
            key: "spec".into(),
            message: format!("cannot read: {e}"),
        })?;
        Spec::parse(&text, path)
    }

    /// Parse `text` (the contents of `path`).
    pub fn parse(text: &str, path: &Path) -> Result<Spec, SpecError> {
        let file = path.display().to_string();
        let lines = Lines { text };
        let raw: RawSpec = toml::from_str(text).map_err(|e| toml_error(text, &file, &e))?;
        let err = |span: Range<usize>, key: &str, message: String| SpecError {
            file: file.clone(),
            line: lines.line(&span),
            key: key.into(),
            message,
        };
        let job = JobKind::parse(raw.job.get_ref()).map_err(|m| err(raw.job.span(), "job", m))?;
        let jobs = match &raw.jobs {
            Some(j) if !(1..=1024).contains(j.get_ref()) => {
                return Err(err(
                    j.span(),
                    "jobs",
                    format!("{} is out of range: allowed 1..=1024", j.get_ref()),
                ))
            }
            Some(j) => Some(*j.get_ref() as usize),
            None => None,
        };
        let name = match &raw.name {
            Some(n) => {
                let ok = !n.get_ref().is_empty()
                    && n.get_ref()
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
                if !ok {
                    return Err(err(
                        n.span(),
                        "name",
                        format!("`{}`: use letters, digits, `-`, `_` and `.`", n.get_ref()),
                    ));
                }
                n.get_ref().clone()
            }
            None => path
                .file_stem()
                .map_or("sweep".into(), |s| s.to_string_lossy().into_owned()),
        };
        let slurm = match &raw.slurm {
            Some(s) => s
                .get_ref()
                .clone()
                .try_into::<SlurmSettings>()
                .map_err(|e| err(s.span(), "slurm", e.message().trim().to_string()))?,
            None => SlurmSettings::default(),
        };
        let sources = Sources {
            base: fields_of(&raw.base, &lines),
            axes: axes_of(&raw.axes, &lines, &file)?,
            points: raw.points.iter().map(|p| fields_of(p, &lines)).collect(),
        };
        let groups: Vec<Sources> = if raw.group.is_empty() {
            vec![Sources::default()]
        } else {
            raw.group
                .iter()
                .map(|g| {
                    Ok(Sources {
                        base: fields_of(&g.base, &lines),
                        axes: axes_of(&g.axes, &lines, &file)?,
                        points: g.points.iter().map(|p| fields_of(p, &lines)).collect(),
                    })
                })
                .collect::<Result<_, SpecError>>()?
        };
        let mut expanded: Vec<Fields> = vec![];
        for g in &groups {
            expanded.extend(expand(&sources, g));
        }
        if expanded.is_empty() {
            return Err(SpecError {
                file,
                line: 1,
                key: "points".into(),
                message: "the spec has no points".into(),
            });
        }
        let ctx = point::Context::new();
        let mut points: Vec<Point> = vec![];
        let mut seen = std::collections::HashSet::new();
        let mut duplicates = 0;
        for fields in expanded {
            let p = Point::resolve(job, &fields, &ctx).map_err(|e| {
                let line = fields.get(&e.field).map_or_else(
                    || fields.values().map(|f| f.line).min().unwrap_or(1),
                    |f| f.line,
                );
                SpecError {
                    file: file.clone(),
                    line,
                    key: e.field.clone(),
                    message: e.message,
                }
            })?;
            if seen.insert(p.identity()) {
                points.push(p);
            } else {
                duplicates += 1;
            }
        }
        for (i, p) in points.iter_mut().enumerate() {
            p.index = i;
        }
        Ok(Spec {
            path: path.to_path_buf(),
            name,
            job,
            jobs,
            slurm,
            points,
            duplicates,
        })
    }
}

/// Base, axes and points of the top level or of a group.
#[derive(Default)]
struct Sources {
    base: Choice,
    axes: Vec<Vec<Choice>>,
    points: Vec<Choice>,
}

fn expand(top: &Sources, group: &Sources) -> Vec<Fields> {
    let one = vec![Choice::new()];
    let top_points = if top.points.is_empty() {
        &one
    } else {
        &top.points
    };
    let group_points = if group.points.is_empty() {
        &one
    } else {
        &group.points
    };
    let top_axes = product(&top.axes);
    let group_axes = product(&group.axes);
    let mut out = vec![];
    for tp in top_points {
        for gp in group_points {
            for ta in &top_axes {
                for ga in &group_axes {
                    let mut fields = Fields::new();
                    for (k, f) in top
                        .base
                        .iter()
                        .chain(&group.base)
                        .chain(tp)
                        .chain(gp)
                        .chain(ta)
                        .chain(ga)
                    {
                        fields.insert(k.clone(), f.clone());
                    }
                    out.push(fields);
                }
            }
        }
    }
    out
}
