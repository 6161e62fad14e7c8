//! Tests of the co-simulation's AXI4 memory (`systolic::cosim::axi4`), without Verilator: a
//! small AXI4 master model in Rust drives [`Axi4Slave`] cycle by cycle as the RTL will, every
//! cycle observed by [`Axi4Checker`].
//!
//! - Random traffic (random burst lengths, unaligned starts, random strobes, 4 KB-respecting
//!   addresses, random stalls on both sides, several widths and orders): every R beat is compared
//!   with a plain `Vec<u8>` reference, and the memory with the reference after every epoch.
//! - One test per checker rule, each planting its violation.
//! - Exact cycle counts of stall-free runs from the configured latency, rate and limits.
//! - Out-of-order responses: reordered across IDs, never within one ID (seen in the data).

use std::collections::VecDeque;

use systolic::cosim::axi4::{
    check_request, AddrBeat, Axi4Checker, Axi4Slave, BBeat, Channel, CheckerConfig, Counters, Data,
    ErrorRange, MasterOut, RBeat, Rate, Resp, ResponseOrder, Rule, SlaveConfig, SlaveOut,
    SlaveStalls, Violation, WBeat, BURST_FIXED, BURST_INCR, BURST_WRAP,
};
use systolic::program::SplitMix64;

/// A read the master expects: the bytes of its beats from the aligned base (None: not checked).
struct ReadPlan {
    tag: usize,
    id: u32,
    addr: u64,
    beats: u32,
    seen: u32,
    expected: Option<Vec<u8>>,
}

/// One R beat as the master took it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RLog {
    cycle: u64,
    tag: usize,
    id: u32,
    beat: u32,
    data: Data,
    resp: Resp,
}

type Tamper = Box<dyn FnMut(u64, &mut MasterOut)>;

/// A simple AXI4 master: three request queues (AW, W, AR), each presented independently of the
/// others (so W may run ahead of AW), every VALID held with its payload until READY.
struct Master {
    bytes: usize,
    rng: SplitMix64,
    /// Probability that a free channel does not present its next item in a cycle.
    p_idle: f64,
    /// Probability that BREADY / RREADY is low in a cycle.
    p_ready_low: f64,
    /// AW is not presented before this cycle.
    aw_from: u64,
    aw_q: VecDeque<AddrBeat>,
    w_q: VecDeque<WBeat>,
    ar_q: VecDeque<AddrBeat>,
    aw: Option<AddrBeat>,
    w: Option<WBeat>,
    ar: Option<AddrBeat>,
    read_plans: VecDeque<ReadPlan>,
    reads: Vec<ReadPlan>,
    write_tags: VecDeque<(usize, u32)>,
    writes: Vec<(usize, u32)>,
    next_tag: usize,
    r_log: Vec<RLog>,
    /// (cycle, tag, id, resp) of each B.
    b_log: Vec<(u64, usize, u32, Resp)>,
    aw_log: Vec<usize>,
    ar_log: Vec<usize>,
    errors: Vec<String>,
    cycle: u64,
    tamper: Option<Tamper>,
}

impl Master {
    fn new(bytes: usize, p_idle: f64, p_ready_low: f64, seed: u64) -> Master {
        Master {
            bytes,
            rng: SplitMix64::new(seed),
            p_idle,
            p_ready_low,
            aw_from: 0,
            aw_q: VecDeque::new(),
            w_q: VecDeque::new(),
            ar_q: VecDeque::new(),
            aw: None,
            w: None,
            ar: None,
            read_plans: VecDeque::new(),
            reads: Vec::new(),
            write_tags: VecDeque::new(),
            writes: Vec::new(),
            next_tag: 0,
            r_log: Vec::new(),
            b_log: Vec::new(),
            aw_log: Vec::new(),
            ar_log: Vec::new(),
            errors: Vec::new(),
            cycle: 0,
            tamper: None,
        }
    }

    fn ideal(bytes: usize) -> Master {
        Master::new(bytes, 0.0, 0.0, 0)
    }

    fn tag(&mut self) -> usize {
        self.next_tag += 1;
        self.next_tag - 1
    }

    /// A write of `beats` beats at `addr`; `data` and `strb` laid out from the aligned base.
    fn write(&mut self, id: u32, addr: u64, data: &[u8], strb: &[u64]) -> usize {
        let beats = strb.len();
        self.aw_q
            .push_back(AddrBeat::incr(id, addr, beats as u32, self.bytes as u32));
        for (k, &s) in strb.iter().enumerate() {
            self.w_q.push_back(WBeat {
                valid: true,
                data: Data::from_bytes(&data[k * self.bytes..(k + 1) * self.bytes]),
                strb: s,
                last: k + 1 == beats,
            });
        }
        let tag = self.tag();
        self.write_tags.push_back((tag, id));
        tag
    }

    /// A full-strobe write of zeros at an aligned `addr`.
    fn write_zeros(&mut self, id: u32, addr: u64, beats: usize) -> usize {
        let full = if self.bytes == 64 {
            u64::MAX
        } else {
            (1u64 << self.bytes) - 1
        };
        self.write(id, addr, &vec![0; beats * self.bytes], &vec![full; beats])
    }

    fn read(&mut self, id: u32, addr: u64, beats: u32, expected: Option<Vec<u8>>) -> usize {
        self.ar_q
            .push_back(AddrBeat::incr(id, addr, beats, self.bytes as u32));
        let tag = self.tag();
        self.read_plans.push_back(ReadPlan {
            tag,
            id,
            addr,
            beats,
            seen: 0,
            expected,
        });
        tag
    }

    /// Requests as given (possibly broken), without data checks.
    fn raw_aw(&mut self, a: AddrBeat) {
        self.aw_q.push_back(a);
        let tag = self.tag();
        self.write_tags.push_back((tag, a.id));
    }

    fn raw_w(&mut self, last: bool, strb: u64) {
        self.w_q.push_back(WBeat {
            valid: true,
            data: Data::default(),
            strb,
            last,
        });
    }

    fn raw_ar(&mut self, a: AddrBeat) {
        self.ar_q.push_back(a);
        let tag = self.tag();
        self.read_plans.push_back(ReadPlan {
            tag,
            id: a.id,
            addr: a.addr,
            beats: u32::from(a.len) + 1,
            seen: 0,
            expected: None,
        });
    }

    fn done(&self) -> bool {
        self.aw_q.is_empty()
            && self.w_q.is_empty()
            && self.ar_q.is_empty()
            && self.aw.is_none()
            && self.w.is_none()
            && self.ar.is_none()
            && self.reads.is_empty()
            && self.writes.is_empty()
    }

    /// The master's outputs in this cycle (its readies may look at the slave's valids; its
    /// valids never look at the slave's readies).
    fn drive(&mut self, _s: &SlaveOut) -> MasterOut {
        if self.aw.is_none() && self.cycle >= self.aw_from && !self.rng.chance(self.p_idle) {
            self.aw = self.aw_q.pop_front();
        }
        if self.w.is_none() && !self.rng.chance(self.p_idle) {
            self.w = self.w_q.pop_front();
        }
        if self.ar.is_none() && !self.rng.chance(self.p_idle) {
            self.ar = self.ar_q.pop_front();
        }
        let mut m = MasterOut {
            aw: self.aw.unwrap_or_default(),
            w: self.w.unwrap_or_default(),
            bready: !self.rng.chance(self.p_ready_low),
            ar: self.ar.unwrap_or_default(),
            rready: !self.rng.chance(self.p_ready_low),
        };
        if let Some(t) = &mut self.tamper {
            t(self.cycle, &mut m);
        }
        m
    }

    /// The edge: what transferred.
    fn edge(&mut self, m: &MasterOut, s: &SlaveOut) {
        if m.aw.valid && s.awready {
            self.aw = None;
            let w = self.write_tags.pop_front().expect("planned write");
            self.aw_log.push(w.0);
            self.writes.push(w);
        }
        if m.w.valid && s.wready {
            self.w = None;
        }
        if m.ar.valid && s.arready {
            self.ar = None;
            let r = self.read_plans.pop_front().expect("planned read");
            self.ar_log.push(r.tag);
            self.reads.push(r);
        }
        if s.b.valid && m.bready {
            match self.writes.iter().position(|w| w.1 == s.b.id) {
                Some(i) => {
                    let (tag, id) = self.writes.remove(i);
                    self.b_log.push((self.cycle, tag, id, s.b.resp));
                }
                None => self.errors.push(format!("B for idle ID {}", s.b.id)),
            }
        }
        if s.r.valid && m.rready {
            self.take_r(&s.r);
        }
        self.cycle += 1;
    }

    fn take_r(&mut self, r: &RBeat) {
        let Some(i) = self.reads.iter().position(|p| p.id == r.id) else {
            self.errors.push(format!("R for idle ID {}", r.id));
            return;
        };
        let n = self.bytes;
        let p = &mut self.reads[i];
        let beat = p.seen;
        p.seen += 1;
        if let Some(exp) = &p.expected {
            let lo = if beat == 0 {
                (p.addr % n as u64) as usize
            } else {
                0
            };
            let want = &exp[beat as usize * n + lo..(beat as usize + 1) * n];
            if &r.data.bytes(n)[lo..] != want || r.resp != Resp::Okay {
                self.errors.push(format!(
                    "cycle {}: read {} (addr {:#x}) beat {beat}: got {:?} {:?}, want {:02x?}",
                    self.cycle, p.tag, p.addr, r.data, r.resp, want
                ));
            }
        }
        self.r_log.push(RLog {
            cycle: self.cycle,
            tag: p.tag,
            id: r.id,
            beat,
            data: r.data,
            resp: r.resp,
        });
        if p.seen == p.beats {
            self.reads.remove(i);
        }
    }
}

/// Runs until the master is done (true), `limit` cycles pass (false), or a violation.
fn run(
    slave: &mut Axi4Slave<Vec<u8>>,
    checker: &mut Axi4Checker,
    master: &mut Master,
    limit: u64,
) -> Result<bool, Violation> {
    for _ in 0..limit {
        if master.done() {
            return Ok(true);
        }
        let s = *slave.outputs();
        let m = master.drive(&s);
        checker.observe(&m, &s)?;
        master.edge(&m, &s);
        slave.tick(&m)?;
    }
    Ok(master.done())
}

fn run_to_end(slave: &mut Axi4Slave<Vec<u8>>, checker: &mut Axi4Checker, master: &mut Master) {
    let done = run(slave, checker, master, 2_000_000).expect("no violation");
    assert!(done, "the master did not finish");
    assert!(master.errors.is_empty(), "{:#?}", &master.errors[..]);
}

fn full_lanes(bytes: usize) -> u64 {
    if bytes == 64 {
        u64::MAX
    } else {
        (1u64 << bytes) - 1
    }
}

/// A random burst: (start address, beats) within `mem` bytes, never across 4 KB.
fn random_burst(rng: &mut SplitMix64, bytes: usize, mem: u64) -> (u64, u32) {
    let b = bytes as u64;
    let base = rng.below(mem / b) * b;
    let addr = if rng.chance(0.3) {
        base + rng.below(b)
    } else {
        base
    };
    let want = match rng.below(8) {
        0 => 256,
        1 => 1,
        _ => rng.range_u32(1, 64),
    };
    let to_4k = (4096 - base % 4096) / b;
    let to_end = (mem - base) / b;
    (addr, want.min(to_4k as u32).min(to_end as u32).max(1))
}

struct Traffic {
    cfg: SlaveConfig,
    master_idle: f64,
    master_ready_low: f64,
    ids: u32,
    epochs: usize,
    per_epoch: u32,
    seed: u64,
}

struct TrafficResult {
    counters: Counters,
    r_log: Vec<RLog>,
    b_log: Vec<(u64, usize, u32, Resp)>,
}

/// Epochs of random writes and reads in flight together (reads never overlap the same epoch's
/// writes, so their data is the reference's at the epoch's start); after each epoch the writes
/// are applied to the reference in AW order and the memory must equal it.
fn random_traffic(t: &Traffic) -> TrafficResult {
    let bytes = t.cfg.data_bytes() as usize;
    let mem_size: u64 = 64 * 1024;
    let mut rng = SplitMix64::new(t.seed);
    let mut reference: Vec<u8> = (0..mem_size).map(|_| rng.next_u64() as u8).collect();
    let mut slave = Axi4Slave::new(t.cfg.clone(), reference.clone()).expect("config");
    let mut checker = Axi4Checker::for_slave(&t.cfg);
    let mut master = Master::new(bytes, t.master_idle, t.master_ready_low, t.seed ^ 0x5a5a);
    let (mut beats_r, mut beats_w, mut bytes_r, mut strobed) = (0u64, 0u64, 0u64, 0u64);
    let (mut n_reads, mut n_writes) = (0u64, 0u64);
    for _ in 0..t.epochs {
        let mut writes: Vec<(u64, Vec<u8>, Vec<u64>)> = Vec::new();
        for _ in 0..rng.range_u32(0, t.per_epoch) {
            let (addr, beats) = random_burst(&mut rng, bytes, mem_size);
            let offset = (addr % bytes as u64) as u32;
            let data: Vec<u8> = (0..beats as usize * bytes)
                .map(|_| rng.next_u64() as u8)
                .collect();
            let strb: Vec<u64> = (0..beats)
                .map(|k| {
                    let lanes =
                        full_lanes(bytes) & if k == 0 { !((1u64 << offset) - 1) } else { !0 };
                    if rng.chance(0.5) {
                        lanes
                    } else {
                        lanes & rng.next_u64()
                    }
                })
                .collect();
            let id = rng.below(u64::from(t.ids)) as u32;
            master.write(id, addr, &data, &strb);
            beats_w += u64::from(beats);
            strobed += strb.iter().map(|s| u64::from(s.count_ones())).sum::<u64>();
            n_writes += 1;
            writes.push((addr, data, strb));
        }
        let span = |addr: u64, beats: u64| {
            let base = addr - addr % bytes as u64;
            (base, base + beats * bytes as u64)
        };
        let mut placed = 0;
        let mut tries = 0;
        while placed < t.per_epoch && tries < 20 * t.per_epoch {
            tries += 1;
            let (addr, beats) = random_burst(&mut rng, bytes, mem_size);
            let (lo, hi) = span(addr, u64::from(beats));
            let clash = writes.iter().any(|(a, _, s)| {
                let (wlo, whi) = span(*a, s.len() as u64);
                wlo < hi && lo < whi
            });
            if clash {
                continue;
            }
            let id = rng.below(u64::from(t.ids)) as u32;
            master.read(
                id,
                addr,
                beats,
                Some(reference[lo as usize..hi as usize].to_vec()),
            );
            beats_r += u64::from(beats);
            bytes_r += u64::from(beats) * bytes as u64 - addr % bytes as u64;
            n_reads += 1;
            placed += 1;
        }
        run_to_end(&mut slave, &mut checker, &mut master);
        for (addr, data, strb) in &writes {
            let base = (addr - addr % bytes as u64) as usize;
            for (k, s) in strb.iter().enumerate() {
                for lane in (0..bytes).filter(|l| s >> l & 1 == 1) {
                    reference[base + k * bytes + lane] = data[k * bytes + lane];
                }
            }
        }
        assert!(
            slave.memory() == &reference,
            "memory differs from the reference"
        );
        assert!(slave.idle());
    }
    let c = checker.finish().expect("everything answered");
    assert_eq!(c.read_beats, beats_r);
    assert_eq!(c.write_beats, beats_w);
    assert_eq!(c.read_bursts, n_reads);
    assert_eq!(c.write_bursts, n_writes);
    assert_eq!(c.read_bytes, bytes_r);
    assert_eq!(c.written_bytes, strobed);
    assert_eq!(c.transfer_cycles.r, beats_r);
    assert_eq!(c.transfer_cycles.b, n_writes);
    assert_eq!((c.read_errors, c.write_errors), (0, 0));
    TrafficResult {
        counters: c,
        r_log: master.r_log,
        b_log: master.b_log,
    }
}

fn traffic(cfg: SlaveConfig, seed: u64) -> Traffic {
    Traffic {
        cfg,
        master_idle: 0.3,
        master_ready_low: 0.3,
        ids: 1,
        epochs: 6,
        per_epoch: 8,
        seed,
    }
}

#[test]
fn random_traffic_64_bits_in_order_with_stalls() {
    for seed in 0..4 {
        let cfg = SlaveConfig {
            read_latency: 5,
            write_latency: 3,
            stalls: SlaveStalls::uniform(0.3, seed),
            max_reads: 4,
            max_writes: 4,
            w_buffer: 8,
            ..SlaveConfig::new(64)
        };
        let r = random_traffic(&traffic(cfg, seed));
        assert!(r.counters.read_beats > 100 && r.counters.write_beats > 100);
    }
}

#[test]
fn random_traffic_32_bits_one_outstanding_w_after_aw() {
    let cfg = SlaveConfig {
        stalls: SlaveStalls::uniform(0.5, 7),
        max_reads: 1,
        max_writes: 1,
        w_before_aw: false,
        ..SlaveConfig::new(32)
    };
    random_traffic(&Traffic {
        master_idle: 0.5,
        master_ready_low: 0.5,
        ..traffic(cfg, 11)
    });
}

#[test]
fn random_traffic_512_bits_reordered_rate_limited() {
    let cfg = SlaveConfig {
        read_latency: 30,
        write_latency: 10,
        read_rate: Rate::one_in(3),
        write_rate: Rate {
            beats: 2,
            cycles: 3,
        },
        stalls: SlaveStalls::uniform(0.2, 3),
        max_reads: 8,
        max_writes: 8,
        order: ResponseOrder::Reorder,
        ..SlaveConfig::new(512)
    };
    random_traffic(&Traffic {
        ids: 4,
        ..traffic(cfg, 5)
    });
}

#[test]
fn random_traffic_128_and_256_bits_interleaved_and_stall_free() {
    let cfg = SlaveConfig {
        read_latency: 12,
        stalls: SlaveStalls::uniform(0.25, 9),
        max_reads: 6,
        order: ResponseOrder::Interleave,
        ..SlaveConfig::new(128)
    };
    random_traffic(&Traffic {
        ids: 3,
        ..traffic(cfg, 13)
    });
    let cfg = SlaveConfig {
        read_latency: 4,
        ..SlaveConfig::new(256)
    };
    random_traffic(&Traffic {
        master_idle: 0.0,
        master_ready_low: 0.0,
        ..traffic(cfg, 17)
    });
}

#[test]
fn random_traffic_over_random_configurations() {
    // 40 configurations drawn at random: width, latencies, rates, stalls on both sides,
    // outstanding limits, order, W before AW, IDs. (500 of them ran clean once, 2.3 M cycles.)
    for seed in 0..40u64 {
        let mut r = SplitMix64::new(seed * 7919);
        let bits = *r.choose(&[32u32, 64, 128, 256, 512]);
        let order = *r.choose(&[
            ResponseOrder::InOrder,
            ResponseOrder::Reorder,
            ResponseOrder::Interleave,
        ]);
        let k = r.range_u32(1, 3);
        let cfg = SlaveConfig {
            read_latency: r.range_u32(1, 40),
            write_latency: r.range_u32(1, 20),
            read_rate: Rate {
                beats: r.range_u32(1, k),
                cycles: k,
            },
            write_rate: Rate::one_in(r.range_u32(1, 3)),
            stalls: SlaveStalls::uniform(r.below(70) as f64 / 100.0, seed),
            max_reads: r.range_u32(1, 12) as usize,
            max_writes: r.range_u32(1, 12) as usize,
            order,
            w_before_aw: r.chance(0.5),
            w_buffer: r.range_u32(1, 20) as usize,
            ..SlaveConfig::new(bits)
        };
        random_traffic(&Traffic {
            cfg,
            master_idle: r.below(70) as f64 / 100.0,
            master_ready_low: r.below(70) as f64 / 100.0,
            ids: r.range_u32(1, 4),
            epochs: 4,
            per_epoch: 10,
            seed,
        });
    }
}

#[test]
fn same_seed_same_run_other_seed_other_run() {
    let cfg = |seed| SlaveConfig {
        read_latency: 7,
        stalls: SlaveStalls::uniform(0.3, seed),
        max_reads: 4,
        order: ResponseOrder::Reorder,
        ..SlaveConfig::new(64)
    };
    let go = |seed| {
        random_traffic(&Traffic {
            ids: 3,
            ..traffic(cfg(seed), 21)
        })
    };
    let (a, b, c) = (go(1), go(1), go(2));
    assert_eq!(a.counters, b.counters);
    assert_eq!(a.r_log, b.r_log);
    assert_eq!(a.b_log, b.b_log);
    assert_ne!(
        a.r_log, c.r_log,
        "another stall seed must change the timing"
    );
}

// ---- exact timing of stall-free runs ----

fn stall_free(cfg: SlaveConfig, plan: impl FnOnce(&mut Master)) -> (Counters, Master) {
    let bytes = cfg.data_bytes() as usize;
    let mut slave = Axi4Slave::new(cfg.clone(), vec![0u8; 1 << 20]).expect("config");
    let mut checker = Axi4Checker::for_slave(&cfg);
    let mut master = Master::ideal(bytes);
    plan(&mut master);
    run_to_end(&mut slave, &mut checker, &mut master);
    (checker.finish().expect("clean"), master)
}

#[test]
fn read_latency_and_burst_length_give_exact_cycles() {
    for (latency, beats) in [(20, 256), (1, 256), (7, 1), (3, 16)] {
        let cfg = SlaveConfig {
            read_latency: latency,
            ..SlaveConfig::new(64)
        };
        let (c, m) = stall_free(cfg, |m| {
            m.read(0, 0x1000, beats, None);
        });
        assert_eq!(c.first_request, Some(0));
        assert_eq!(m.r_log[0].cycle, u64::from(latency), "first R beat");
        assert_eq!(
            c.span(),
            Some(u64::from(latency + beats)),
            "latency {latency}"
        );
        assert_eq!(c.transfer_cycles.r, u64::from(beats));
        assert_eq!(c.valid_cycles.r, u64::from(beats), "no gap in the burst");
        assert_eq!(c.read_bytes, u64::from(beats) * 8);
    }
}

#[test]
fn read_rate_one_in_k_and_two_in_three() {
    for k in [2u32, 3, 5] {
        let cfg = SlaveConfig {
            read_latency: 10,
            read_rate: Rate::one_in(k),
            ..SlaveConfig::new(64)
        };
        let (c, m) = stall_free(cfg, |m| {
            m.read(0, 0, 256, None);
        });
        assert_eq!(c.span(), Some(10 + 255 * u64::from(k) + 1), "1 in {k}");
        let gaps: Vec<u64> = m
            .r_log
            .windows(2)
            .map(|w| w[1].cycle - w[0].cycle)
            .collect();
        assert!(gaps.iter().all(|&g| g == u64::from(k)));
    }
    let cfg = SlaveConfig {
        read_latency: 10,
        read_rate: Rate {
            beats: 2,
            cycles: 3,
        },
        ..SlaveConfig::new(64)
    };
    let (c, m) = stall_free(cfg, |m| {
        m.read(0, 0, 256, None);
    });
    for (i, r) in m.r_log.iter().enumerate() {
        assert_eq!(r.cycle, 10 + 3 * (i as u64 / 2) + i as u64 % 2, "beat {i}");
    }
    assert_eq!(c.span(), Some(10 + 382 + 1));
}

#[test]
fn write_rate_and_latency_give_exact_cycles() {
    for (k, lb, early) in [
        (1u32, 1u32, true),
        (2, 5, true),
        (3, 4, false),
        (1, 9, false),
    ] {
        let cfg = SlaveConfig {
            write_latency: lb,
            write_rate: Rate::one_in(k),
            w_before_aw: early,
            ..SlaveConfig::new(128)
        };
        let (c, m) = stall_free(cfg, |m| {
            m.write_zeros(0, 0x2000, 256);
        });
        // W starts in cycle 0 when the slave takes W before AW, else in cycle 1 (after AW).
        let first_w = u64::from(!early);
        let last_w = first_w + 255 * u64::from(k);
        assert_eq!(m.b_log[0].0, last_w + u64::from(lb), "B, k {k} lb {lb}");
        assert_eq!(c.last_write_response, Some(last_w + u64::from(lb)));
        assert_eq!(c.span(), Some(last_w + u64::from(lb) + 1));
        assert_eq!(c.transfer_cycles.w, 256);
        assert_eq!(c.written_bytes, 256 * 16);
    }
}

#[test]
fn outstanding_reads_pipeline_back_to_back() {
    // Four bursts of 64 with four outstanding: AR in cycles 0..3, R from 20 without a gap.
    let cfg = SlaveConfig {
        read_latency: 20,
        max_reads: 4,
        ..SlaveConfig::new(64)
    };
    let (c, _) = stall_free(cfg, |m| {
        for i in 0..4 {
            m.read(0, 0x4000 + i * 0x200, 64, None);
        }
    });
    assert_eq!(c.span(), Some(20 + 256));
    assert_eq!(c.transfer_cycles.r, 256);
    assert!((c.utilisation(Channel::R) - 256.0 / 276.0).abs() < 1e-12);
}

#[test]
fn one_outstanding_read_serialises_bursts() {
    // max_reads 1: the next AR is taken in the cycle after the previous burst's last beat.
    let cfg = SlaveConfig {
        read_latency: 10,
        max_reads: 1,
        ..SlaveConfig::new(64)
    };
    let (c, m) = stall_free(cfg, |m| {
        for i in 0..5 {
            m.read(0, i * 0x100, 16, None);
        }
    });
    assert_eq!(c.span(), Some(5 * (1 + 10 + 16 - 1)));
    let starts: Vec<u64> = m
        .r_log
        .iter()
        .filter(|r| r.beat == 0)
        .map(|r| r.cycle)
        .collect();
    assert_eq!(starts, vec![10, 36, 62, 88, 114]);
    assert_eq!(
        c.valid_cycles.ar,
        1 + 4 * 26,
        "each AR waits while the previous runs"
    );
}

#[test]
fn outstanding_writes_limit_awready() {
    // max_writes 2, write latency 6, bursts of 4 beats: the third AW waits for the first B.
    let cfg = SlaveConfig {
        write_latency: 6,
        max_writes: 2,
        ..SlaveConfig::new(32)
    };
    let (c, m) = stall_free(cfg, |m| {
        for i in 0..3 {
            m.write_zeros(0, i * 0x40, 4);
        }
    });
    // W beats 0..3 in cycles 0..3 (W before AW), B of burst 0 at 3 + 6 = 9; burst 1's W in
    // 4..7, B at 13; AW 2 is taken in cycle 10 (after B 0), its W in 8..11, B at 17.
    let bs: Vec<u64> = m.b_log.iter().map(|b| b.0).collect();
    assert_eq!(bs, vec![9, 13, 17]);
    assert_eq!(c.span(), Some(18));
}

// ---- out-of-order responses ----

/// Memory whose every 32-bit word holds its own address: a beat's data names its address.
fn address_memory(size: usize) -> Vec<u8> {
    (0..size / 4)
        .flat_map(|w| ((w * 4) as u32).to_le_bytes())
        .collect()
}

/// Per read burst (in tag order): its byte range and ID.
type BurstRanges = Vec<(u64, u64, u32)>;

/// Read bursts of random lengths at distinct addresses with `ids` IDs through a slave of
/// `order`; returns (AR order, R log, per-burst address ranges).
fn order_run(order: ResponseOrder, seed: u64) -> (Vec<usize>, Vec<RLog>, BurstRanges) {
    let cfg = SlaveConfig {
        read_latency: 6,
        max_reads: 8,
        order,
        stalls: SlaveStalls::uniform(0.3, seed),
        ..SlaveConfig::new(64)
    };
    let mem = address_memory(1 << 16);
    let mut slave = Axi4Slave::new(cfg.clone(), mem.clone()).expect("config");
    let mut checker = Axi4Checker::for_slave(&cfg);
    let mut master = Master::new(8, 0.2, 0.2, seed);
    let mut rng = SplitMix64::new(seed);
    let mut ranges = Vec::new();
    for i in 0..80u64 {
        let beats = rng.range_u32(1, 16);
        let addr = i * 0x200;
        let id = rng.below(4) as u32;
        let exp = mem[addr as usize..addr as usize + 8 * beats as usize].to_vec();
        let tag = master.read(id, addr, beats, Some(exp));
        assert_eq!(tag, ranges.len());
        ranges.push((addr, addr + 8 * u64::from(beats), id));
    }
    run_to_end(&mut slave, &mut checker, &mut master);
    checker.finish().expect("clean");
    (master.ar_log, master.r_log, ranges)
}

/// For each R beat, the burst its data belongs to (from the address in the data).
fn burst_of(r: &RLog, ranges: &[(u64, u64, u32)]) -> usize {
    let a = u64::from(u32::from_le_bytes(r.data.0[..4].try_into().unwrap()));
    ranges
        .iter()
        .position(|&(lo, hi, _)| lo <= a && a < hi)
        .expect("data names an address of some burst")
}

struct OrderStats {
    cross_id_inversions: usize,
    same_id_inversions: usize,
    interleaved_bursts: usize,
}

fn order_stats(ar: &[usize], log: &[RLog], ranges: &[(u64, u64, u32)]) -> OrderStats {
    // Completion (last beat) position of each burst, identified by its data alone.
    let mut done_at = vec![usize::MAX; ranges.len()];
    let mut first_at = vec![usize::MAX; ranges.len()];
    let mut beats = vec![0usize; ranges.len()];
    for (pos, r) in log.iter().enumerate() {
        let b = burst_of(r, ranges);
        assert_eq!(
            ranges[b].2, r.id,
            "RID matches the burst the data came from"
        );
        first_at[b] = first_at[b].min(pos);
        done_at[b] = pos;
        beats[b] += 1;
    }
    let mut s = OrderStats {
        cross_id_inversions: 0,
        same_id_inversions: 0,
        interleaved_bursts: 0,
    };
    for (i, &a) in ar.iter().enumerate() {
        for &b in &ar[i + 1..] {
            if done_at[b] < done_at[a] {
                if ranges[a].2 == ranges[b].2 {
                    s.same_id_inversions += 1;
                } else {
                    s.cross_id_inversions += 1;
                }
            }
        }
    }
    s.interleaved_bursts = (0..ranges.len())
        .filter(|&b| done_at[b] - first_at[b] + 1 != beats[b])
        .count();
    s
}

#[test]
fn reorder_reorders_across_ids_never_within_one() {
    for seed in 0..3 {
        let (ar, log, ranges) = order_run(ResponseOrder::Reorder, seed);
        let s = order_stats(&ar, &log, &ranges);
        assert!(s.cross_id_inversions > 0, "seed {seed}: nothing reordered");
        assert_eq!(s.same_id_inversions, 0);
        assert_eq!(
            s.interleaved_bursts, 0,
            "Reorder keeps a burst's beats together"
        );
    }
}

#[test]
fn interleave_interleaves_beats_across_ids_never_within_one() {
    let (ar, log, ranges) = order_run(ResponseOrder::Interleave, 4);
    let s = order_stats(&ar, &log, &ranges);
    assert!(s.cross_id_inversions > 0);
    assert!(s.interleaved_bursts > 0);
    assert_eq!(s.same_id_inversions, 0);
}

#[test]
fn in_order_keeps_request_order() {
    let (ar, log, ranges) = order_run(ResponseOrder::InOrder, 5);
    let s = order_stats(&ar, &log, &ranges);
    assert_eq!(s.cross_id_inversions + s.same_id_inversions, 0);
    assert_eq!(s.interleaved_bursts, 0);
}

#[test]
fn write_responses_reorder_across_ids() {
    let cfg = SlaveConfig {
        order: ResponseOrder::Reorder,
        write_latency: 8,
        stalls: SlaveStalls::uniform(0.3, 2),
        ..SlaveConfig::new(64)
    };
    let mut slave = Axi4Slave::new(cfg.clone(), vec![0u8; 1 << 16]).expect("config");
    let mut checker = Axi4Checker::for_slave(&cfg);
    let mut master = Master::new(8, 0.1, 0.3, 2);
    let mut rng = SplitMix64::new(3);
    for i in 0..60 {
        master.write_zeros(rng.below(3) as u32, i * 0x100, rng.range_u32(1, 4) as usize);
    }
    run_to_end(&mut slave, &mut checker, &mut master);
    checker.finish().expect("clean");
    let b_tags: Vec<usize> = master.b_log.iter().map(|b| b.1).collect();
    assert_ne!(
        b_tags, master.aw_log,
        "some B overtook an older write of another ID"
    );
}

// ---- error responses ----

#[test]
fn error_ranges_answer_slverr_and_decerr() {
    let cfg = SlaveConfig {
        errors: vec![
            ErrorRange {
                start: 0x1100,
                end: 0x1110,
                resp: Resp::SlvErr,
                reads: true,
                writes: true,
            },
            ErrorRange {
                start: 0x2000,
                end: 0x2100,
                resp: Resp::DecErr,
                reads: true,
                writes: false,
            },
        ],
        ..SlaveConfig::new(64)
    };
    let mem = address_memory(0x2F80);
    let mut slave = Axi4Slave::new(cfg.clone(), mem.clone()).expect("config");
    let mut checker = Axi4Checker::for_slave(&cfg);
    let mut master = Master::ideal(8);
    master.read(0, 0x10F0, 6, None); // beats 2 and 3 in the SlvErr range
    master.read(0, 0x20F8, 2, None); // beat 0 DecErr, beat 1 OKAY
    master.read(0, 0x2F78, 2, None); // beat 1 beyond the memory: DecErr
    master.write_zeros(0, 0x1108, 2); // beat 0 in the SlvErr range: not written; beat 1 is
    master.write_zeros(0, 0x2000, 1); // DecErr on reads only: written
    master.write_zeros(0, 0x2F78, 2); // beat 1 beyond the memory
    run_to_end(&mut slave, &mut checker, &mut master);
    let c = checker.finish().expect("clean");
    let resps: Vec<Resp> = master.r_log.iter().map(|r| r.resp).collect();
    use Resp::{DecErr, Okay, SlvErr};
    assert_eq!(
        resps,
        vec![Okay, Okay, SlvErr, SlvErr, Okay, Okay, DecErr, Okay, Okay, DecErr]
    );
    let data_of = |i: usize| master.r_log[i].data.to_u64_words(8)[0];
    assert_eq!(data_of(2), 0, "an error beat carries zeros");
    assert_eq!(
        data_of(1),
        0x10FC_0000_10F8,
        "an OKAY beat carries the memory"
    );
    assert_eq!(data_of(7), 0x2104_0000_2100);
    let bresps: Vec<Resp> = master.b_log.iter().map(|b| b.3).collect();
    assert_eq!(
        bresps,
        vec![SlvErr, Okay, DecErr],
        "B: the worst of the burst's beats"
    );
    assert_eq!((c.read_errors, c.write_errors), (4, 2));
    let m = slave.memory();
    assert_eq!(
        &m[0x1108..0x1110],
        &mem[0x1108..0x1110],
        "SLVERR beat: memory unchanged"
    );
    assert_eq!(
        &m[0x1110..0x1118],
        &[0; 8],
        "the burst's OKAY beat is written"
    );
    assert_eq!(
        &m[0x2000..0x2008],
        &[0; 8],
        "read-only DECERR range is writable"
    );
    assert_eq!(&m[0x2F78..0x2F80], &[0; 8]);
    assert_eq!(m.len(), 0x2F80);
}

// ---- the checker catches each planted violation ----

/// Runs `plan` on a 64-bit slave (`cfg` tweaked) under a checker of `ccfg`, then `finish`.
fn violation(
    tweak: impl FnOnce(&mut SlaveConfig),
    ccfg: impl FnOnce(&mut CheckerConfig),
    plan: impl FnOnce(&mut Master),
) -> Violation {
    let mut cfg = SlaveConfig::new(64);
    tweak(&mut cfg);
    let mut cc = CheckerConfig {
        max_reads: cfg.max_reads,
        max_writes: cfg.max_writes,
        ..CheckerConfig::new(64)
    };
    ccfg(&mut cc);
    let mut slave = Axi4Slave::new(cfg, vec![0u8; 1 << 16]).expect("config");
    let mut checker = Axi4Checker::new(cc).expect("config");
    let mut master = Master::ideal(8);
    plan(&mut master);
    // The checker observes before the slave ticks, so its violation comes first.
    match run(&mut slave, &mut checker, &mut master, 400) {
        Err(v) => {
            assert_eq!(checker.violation(), Some(&v), "the checker recorded it");
            v
        }
        Ok(_) => checker.finish().expect_err("a violation must be found"),
    }
}

fn no_tweak(_: &mut SlaveConfig) {}
fn plain(_: &mut CheckerConfig) {}

fn ar(id: u32, addr: u64, beats: u32) -> AddrBeat {
    AddrBeat::incr(id, addr, beats, 8)
}

#[test]
fn catches_burst_across_4k() {
    let v = violation(no_tweak, plain, |m| m.raw_ar(ar(0, 0xFF8, 2)));
    assert_eq!((v.cycle, v.channel), (0, Channel::Ar));
    assert!(matches!(
        v.rule,
        Rule::Boundary4k {
            addr: 0xFF8,
            beats: 2,
            bytes: 8
        }
    ));
    // Unaligned: the last beat's lanes end exactly at the boundary: legal.
    assert_eq!(check_request(&ar(0, 0xFF9, 1), 8), Ok(()));
    assert!(check_request(&ar(0, 0xFF9, 2), 8).is_err());
    let v = violation(no_tweak, plain, |m| {
        m.write_zeros(0, 0x1000, 1);
        m.raw_aw(AddrBeat::incr(1, 0x1F00, 64, 8));
    });
    assert_eq!((v.cycle, v.channel), (1, Channel::Aw));
    assert!(matches!(v.rule, Rule::Boundary4k { .. }));
}

#[test]
fn catches_len_above_255() {
    let mut a = ar(0, 0, 1);
    a.len = 256;
    let v = violation(no_tweak, plain, |m| m.raw_ar(a));
    assert_eq!(v.rule, Rule::Len { len: 256 });
}

#[test]
fn catches_wrong_size() {
    let mut a = ar(0, 0, 4);
    a.size = 2;
    let v = violation(no_tweak, plain, |m| m.raw_aw(a));
    assert_eq!(
        (v.channel, v.rule),
        (
            Channel::Aw,
            Rule::Size {
                size: 2,
                expected: 3
            }
        )
    );
}

#[test]
fn catches_fixed_and_wrap_bursts_and_the_slave_refuses_them() {
    for burst in [BURST_FIXED, BURST_WRAP, 3] {
        let mut a = ar(0, 0, 4);
        a.burst = burst;
        let v = violation(no_tweak, plain, |m| m.raw_ar(a));
        assert_eq!(v.rule, Rule::BurstType { burst });
        // The slave alone (no checker) refuses it too.
        let mut slave = Axi4Slave::new(SlaveConfig::new(64), vec![0u8; 4096]).unwrap();
        let m = MasterOut {
            ar: a,
            ..MasterOut::default()
        };
        let e = slave.tick(&m).expect_err("refused");
        assert_eq!(
            (e.channel, e.rule),
            (Channel::Ar, Rule::BurstType { burst })
        );
    }
    assert_eq!(BURST_INCR, 1);
}

#[test]
fn catches_wlast_early() {
    let v = violation(no_tweak, plain, |m| {
        m.raw_aw(ar(0, 0, 4));
        m.raw_w(false, 0xFF);
        m.raw_w(true, 0xFF);
    });
    assert_eq!((v.cycle, v.channel), (1, Channel::W));
    assert_eq!(v.rule, Rule::WlastEarly { beat: 1, beats: 4 });
}

#[test]
fn catches_wlast_missing_and_late() {
    // Missing: never raised.
    let v = violation(no_tweak, plain, |m| {
        m.raw_aw(ar(0, 0, 2));
        m.raw_w(false, 0xFF);
        m.raw_w(false, 0xFF);
    });
    assert_eq!((v.cycle, v.rule), (1, Rule::WlastMissing { beats: 2 }));
    // Late: raised one beat after the last; caught at the last beat.
    let v = violation(no_tweak, plain, |m| {
        m.raw_aw(ar(0, 0, 2));
        m.raw_w(false, 0xFF);
        m.raw_w(false, 0xFF);
        m.raw_w(true, 0xFF);
    });
    assert_eq!((v.cycle, v.rule), (1, Rule::WlastMissing { beats: 2 }));
}

#[test]
fn catches_wlast_wrong_on_w_beats_before_their_aw() {
    // W beats run ahead (the AW comes in cycle 10); the error shows when the AW arrives and is
    // reported in the cycle of the offending beat.
    let v = violation(no_tweak, plain, |m| {
        m.aw_from = 10;
        m.raw_aw(ar(0, 0, 3));
        m.raw_w(false, 0xFF);
        m.raw_w(true, 0xFF);
        m.raw_w(false, 0xFF);
    });
    assert_eq!((v.cycle, v.channel), (1, Channel::W));
    assert_eq!(v.rule, Rule::WlastEarly { beat: 1, beats: 3 });
    // The same beats with the right WLAST are fine, and the slave writes them.
    let cfg = SlaveConfig::new(64);
    let mut slave = Axi4Slave::new(cfg.clone(), vec![0u8; 4096]).unwrap();
    let mut checker = Axi4Checker::for_slave(&cfg);
    let mut m = Master::ideal(8);
    m.aw_from = 10;
    m.write(0, 0x10, &[0xAB; 24], &[0xFF; 3]);
    run_to_end(&mut slave, &mut checker, &mut m);
    let c = checker.finish().expect("W before AW is legal");
    assert_eq!(c.transfer_cycles.w, 3);
    assert_eq!(
        m.b_log[0].0, 11,
        "B one cycle after the AW that completed the burst"
    );
    assert_eq!(&slave.memory()[0x10..0x28], &[0xAB; 24]);
}

#[test]
fn catches_w_ahead_beyond_the_limit() {
    let v = violation(
        no_tweak,
        |c| c.max_w_ahead = 2,
        |m| {
            m.aw_from = 20;
            m.write_zeros(0, 0, 4);
        },
    );
    assert_eq!((v.cycle, v.rule), (2, Rule::WAhead { beats: 3, max: 2 }));
}

#[test]
fn catches_strobe_outside_the_transfer() {
    let v = violation(no_tweak, plain, |m| {
        m.raw_aw(ar(0, 0x103, 2));
        m.raw_w(false, 0xFF); // lanes 0..2 lie below the start address 0x103
        m.raw_w(true, 0xFF);
    });
    assert_eq!(v.channel, Channel::W);
    assert_eq!(
        v.rule,
        Rule::StrobeOutsideTransfer {
            beat: 0,
            strb: 0xFF,
            allowed: 0xF8
        }
    );
}

/// A master whose VALID falls (or payload changes) at cycle 1 while the slave holds READY low.
fn tampered(ch: Channel, change: fn(&mut MasterOut)) -> Violation {
    violation(
        |c| c.stalls = SlaveStalls::uniform(1.0, 0),
        plain,
        |m| {
            match ch {
                Channel::Aw => m.write_zeros(0, 0, 1),
                Channel::W => {
                    m.aw_from = 1000;
                    m.write_zeros(0, 0, 1)
                }
                _ => m.read(0, 0, 1, None),
            };
            m.tamper = Some(Box::new(move |cycle, out| {
                if cycle == 1 {
                    change(out)
                }
            }));
        },
    )
}

#[test]
fn catches_valid_dropped_before_ready() {
    let v = tampered(Channel::Ar, |m| m.ar.valid = false);
    assert_eq!(
        (v.cycle, v.channel, v.rule),
        (1, Channel::Ar, Rule::ValidDropped)
    );
    let v = tampered(Channel::Aw, |m| m.aw.valid = false);
    assert_eq!(
        (v.cycle, v.channel, v.rule),
        (1, Channel::Aw, Rule::ValidDropped)
    );
    let v = tampered(Channel::W, |m| m.w.valid = false);
    assert_eq!(
        (v.cycle, v.channel, v.rule),
        (1, Channel::W, Rule::ValidDropped)
    );
}

#[test]
fn catches_payload_changed_while_valid() {
    let v = tampered(Channel::Ar, |m| m.ar.addr += 8);
    assert_eq!(v.rule, Rule::PayloadChanged { field: "addr" });
    let v = tampered(Channel::Aw, |m| m.aw.id = 1);
    assert_eq!(v.rule, Rule::PayloadChanged { field: "id" });
    let v = tampered(Channel::W, |m| m.w.data.0[3] ^= 1);
    assert_eq!(
        (v.channel, v.rule),
        (Channel::W, Rule::PayloadChanged { field: "WDATA" })
    );
    let v = tampered(Channel::W, |m| m.w.strb = 1);
    assert_eq!(v.rule, Rule::PayloadChanged { field: "WSTRB" });
    // A change in a lane above the bus width is not a change of the payload.
    let v = violation(
        |c| c.stalls.wready = 1.0,
        plain,
        |m| {
            m.write_zeros(0, 0, 1);
            m.tamper = Some(Box::new(|cycle, out| {
                if cycle == 1 {
                    out.w.data.0[40] = 7;
                }
            }));
        },
    );
    assert!(matches!(v.rule, Rule::Unanswered { .. }), "{v}");
}

#[test]
fn catches_too_many_outstanding() {
    let v = violation(
        |c| {
            c.read_latency = 50;
            c.max_reads = 4;
        },
        |c| c.max_reads = 2,
        |m| {
            for i in 0..3 {
                m.read(0, i * 64, 1, None);
            }
        },
    );
    assert_eq!((v.cycle, v.channel), (2, Channel::Ar));
    assert_eq!(v.rule, Rule::TooManyOutstanding { count: 3, max: 2 });
    let v = violation(
        |c| {
            c.write_latency = 50;
            c.max_writes = 3;
        },
        |c| c.max_writes = 1,
        |m| {
            m.write_zeros(0, 0, 1);
            m.write_zeros(0, 64, 1);
        },
    );
    assert_eq!((v.cycle, v.channel), (1, Channel::Aw));
    assert_eq!(v.rule, Rule::TooManyOutstanding { count: 2, max: 1 });
}

/// Runs `cycles` cycles of `plan`, then `finish`.
fn finish_after(
    cycles: u64,
    tweak: impl FnOnce(&mut SlaveConfig),
    plan: impl FnOnce(&mut Master),
) -> Result<Counters, Violation> {
    let mut cfg = SlaveConfig::new(64);
    tweak(&mut cfg);
    let mut slave = Axi4Slave::new(cfg.clone(), vec![0u8; 4096]).unwrap();
    let mut checker = Axi4Checker::for_slave(&cfg);
    let mut master = Master::ideal(8);
    plan(&mut master);
    run(&mut slave, &mut checker, &mut master, cycles).expect("no violation while running");
    checker.finish()
}

#[test]
fn catches_unanswered_requests_at_finish() {
    let read = finish_after(
        5,
        |c| c.read_latency = 20,
        |m| {
            m.read(0, 0, 4, None);
        },
    );
    let v = read.expect_err("a read is outstanding");
    assert_eq!((v.cycle, v.channel), (5, Channel::R));
    assert!(
        matches!(
            v.rule,
            Rule::Unanswered {
                reads: 1,
                writes: 0,
                ..
            }
        ),
        "{v}"
    );
    // W beats owed: AW of 4 beats, W held back by the slave.
    let owed = finish_after(
        6,
        |c| c.stalls.wready = 1.0,
        |m| {
            m.write_zeros(0, 0, 4);
        },
    );
    let v = owed.expect_err("W owed");
    match v.rule {
        Rule::Unanswered {
            writes: 1,
            w_owed: 4,
            ref waiting,
            ..
        } => {
            assert_eq!(waiting, &vec![Channel::W])
        }
        r => panic!("{r}"),
    }
    // W beats without their AW.
    let orphans = finish_after(6, no_tweak, |m| {
        m.aw_from = 1000;
        m.write_zeros(0, 0, 2);
    });
    match orphans.expect_err("W without AW").rule {
        Rule::Unanswered {
            writes: 0,
            w_orphans: 2,
            ref waiting,
            ..
        } => assert!(waiting.is_empty(), "the AW was never presented"),
        r => panic!("{r}"),
    }
    // A write whose B has not come.
    let b = finish_after(
        3,
        |c| c.write_latency = 10,
        |m| {
            m.write_zeros(0, 0, 1);
        },
    );
    assert!(matches!(
        b.expect_err("B").rule,
        Rule::Unanswered {
            writes: 1,
            w_owed: 0,
            ..
        }
    ));
    // The same runs taken to the end are clean.
    assert!(finish_after(
        100,
        |c| c.read_latency = 20,
        |m| {
            m.read(0, 0, 4, None);
        }
    )
    .is_ok());
}

#[test]
fn catches_ready_low_only_where_the_master_promised_not_to_stall() {
    let stalling = |m: &mut Master| {
        m.p_ready_low = 0.5;
        for i in 0..8 {
            m.read(0, i * 64, 4, None);
            m.write_zeros(0, 0x1000 + i * 64, 2);
        }
    };
    let v = violation(no_tweak, |c| c.no_r_stall = true, stalling);
    assert_eq!((v.channel, v.rule), (Channel::R, Rule::ReadyLow));
    let v = violation(no_tweak, |c| c.no_b_stall = true, stalling);
    assert_eq!((v.channel, v.rule), (Channel::B, Rule::ReadyLow));
    // Plain AXI4: a master may hold its readies low; the run is clean.
    let cfg = SlaveConfig::new(64);
    let mut slave = Axi4Slave::new(cfg.clone(), vec![0u8; 1 << 13]).unwrap();
    let mut checker = Axi4Checker::for_slave(&cfg);
    let mut m = Master::new(8, 0.0, 0.0, 1);
    stalling(&mut m);
    run_to_end(&mut slave, &mut checker, &mut m);
    checker.finish().expect("clean");
}

#[test]
fn catches_valid_depending_on_ready() {
    let mut c = Axi4Checker::new(CheckerConfig::new(64)).unwrap();
    c.probe_valid_vs_ready(Channel::W, true, true).unwrap();
    c.probe_valid_vs_ready(Channel::Aw, false, false).unwrap();
    let v = c
        .probe_valid_vs_ready(Channel::Ar, false, true)
        .unwrap_err();
    assert_eq!(v.channel, Channel::Ar);
    assert_eq!(
        v.rule,
        Rule::ValidDependsOnReady {
            with_low: false,
            with_high: true
        }
    );
    // The first violation stays.
    let again = c
        .observe(&MasterOut::default(), &SlaveOut::default())
        .unwrap_err();
    assert_eq!(again, v);
    assert_eq!(c.finish().unwrap_err(), v);
}

// ---- slave-side rules, fed to the checker directly ----

/// Feeds `(master, slave)` frames to a 64-bit checker; returns the first violation.
fn frames(f: &[(MasterOut, SlaveOut)]) -> Option<Violation> {
    let mut c = Axi4Checker::new(CheckerConfig::new(64)).unwrap();
    f.iter().find_map(|(m, s)| c.observe(m, s).err())
}

fn ar_frame(a: AddrBeat) -> (MasterOut, SlaveOut) {
    (
        MasterOut {
            ar: a,
            rready: true,
            bready: true,
            ..MasterOut::default()
        },
        SlaveOut {
            arready: true,
            ..SlaveOut::default()
        },
    )
}

fn r_frame(id: u32, last: bool, rready: bool) -> (MasterOut, SlaveOut) {
    (
        MasterOut {
            rready,
            bready: true,
            ..MasterOut::default()
        },
        SlaveOut {
            r: RBeat {
                valid: true,
                id,
                last,
                ..RBeat::default()
            },
            ..SlaveOut::default()
        },
    )
}

#[test]
fn catches_slave_side_violations() {
    // RVALID dropped while RREADY was low.
    let v = frames(&[
        ar_frame(ar(0, 0, 2)),
        r_frame(0, false, false),
        (MasterOut::default(), SlaveOut::default()),
    ])
    .unwrap();
    assert_eq!(
        (v.cycle, v.channel, v.rule),
        (2, Channel::R, Rule::ValidDropped)
    );
    // RDATA changed while waiting.
    let mut changed = r_frame(0, false, true);
    changed.1.r.data.0[0] = 1;
    let v = frames(&[ar_frame(ar(0, 0, 2)), r_frame(0, false, false), changed]).unwrap();
    assert_eq!(v.rule, Rule::PayloadChanged { field: "RDATA" });
    // RLAST early and late.
    let v = frames(&[ar_frame(ar(0, 0, 2)), r_frame(0, true, true)]).unwrap();
    assert_eq!(
        v.rule,
        Rule::RlastMismatch {
            beat: 0,
            beats: 2,
            last: true
        }
    );
    let v = frames(&[
        ar_frame(ar(0, 0, 2)),
        r_frame(0, false, true),
        r_frame(0, false, true),
    ])
    .unwrap();
    assert_eq!(
        v.rule,
        Rule::RlastMismatch {
            beat: 1,
            beats: 2,
            last: false
        }
    );
    // R for an ID with nothing outstanding; R in the cycle of its own AR.
    let v = frames(&[ar_frame(ar(0, 0, 1)), r_frame(1, true, true)]).unwrap();
    assert_eq!(v.rule, Rule::UnexpectedResponse { id: 1 });
    let mut same = ar_frame(ar(0, 0, 1));
    same.1.r = RBeat {
        valid: true,
        last: true,
        ..RBeat::default()
    };
    assert_eq!(
        frames(&[same]).unwrap().rule,
        Rule::UnexpectedResponse { id: 0 }
    );
    // B before the last W beat; B changed while waiting.
    let aw = (
        MasterOut {
            aw: ar(2, 0, 2),
            bready: true,
            ..MasterOut::default()
        },
        SlaveOut {
            awready: true,
            ..SlaveOut::default()
        },
    );
    let w = |last| {
        (
            MasterOut {
                w: WBeat {
                    valid: true,
                    strb: 0xFF,
                    last,
                    ..WBeat::default()
                },
                bready: false,
                ..MasterOut::default()
            },
            SlaveOut {
                wready: true,
                ..SlaveOut::default()
            },
        )
    };
    let b = |id, resp, bready| {
        (
            MasterOut {
                bready,
                ..MasterOut::default()
            },
            SlaveOut {
                b: BBeat {
                    valid: true,
                    id,
                    resp,
                },
                ..SlaveOut::default()
            },
        )
    };
    let v = frames(&[aw, w(false), b(2, Resp::Okay, true)]).unwrap();
    assert_eq!(
        (v.cycle, v.channel, v.rule),
        (2, Channel::B, Rule::EarlyWriteResponse { id: 2 })
    );
    let v = frames(&[
        aw,
        w(false),
        w(true),
        b(2, Resp::Okay, false),
        b(2, Resp::SlvErr, true),
    ])
    .unwrap();
    assert_eq!(v.rule, Rule::PayloadChanged { field: "BRESP" });
    let v = frames(&[aw, w(false), w(true), b(3, Resp::Okay, true)]).unwrap();
    assert_eq!(v.rule, Rule::UnexpectedResponse { id: 3 });
    // W data first, then the AW with its B in the same cycle: the B must follow the AW (until
    // the AW has transferred, no write of that ID is outstanding).
    let mut aw_and_b = aw;
    aw_and_b.0.bready = true;
    aw_and_b.1.b = BBeat {
        valid: true,
        id: 2,
        resp: Resp::Okay,
    };
    let v = frames(&[w(false), w(true), aw_and_b]).unwrap();
    assert_eq!((v.cycle, v.rule), (2, Rule::UnexpectedResponse { id: 2 }));
    // The legal sequence passes.
    assert_eq!(
        frames(&[
            aw,
            w(false),
            w(true),
            b(2, Resp::Okay, false),
            b(2, Resp::Okay, true)
        ]),
        None
    );
}

// ---- small pieces ----

#[test]
fn data_words_round_trip() {
    let bytes: Vec<u8> = (1..=64).collect();
    let d = Data::from_bytes(&bytes);
    let w32 = d.to_u32_words(64);
    assert_eq!(w32[0], 0x0403_0201);
    assert_eq!(Data::from_u32_words(&w32), d);
    let w64 = d.to_u64_words(64);
    assert_eq!(w64[7], 0x403F_3E3D_3C3B_3A39);
    assert_eq!(Data::from_u64_words(&w64), d);
    assert_eq!(
        d.to_u64_words(4),
        vec![0x0403_0201],
        "a 32-bit bus in one u64"
    );
    assert_eq!(
        Data::from_u32_words(&[0xDEAD_BEEF]).to_u32_words(4),
        vec![0xDEAD_BEEF]
    );
    assert_eq!(format!("{:?}", Data::from_u64_words(&[0x1234])), "0x1234");
}

#[test]
fn invalid_configurations_are_refused() {
    let bad = [
        SlaveConfig::new(48),
        SlaveConfig {
            read_latency: 0,
            ..SlaveConfig::new(64)
        },
        SlaveConfig {
            read_rate: Rate {
                beats: 2,
                cycles: 1,
            },
            ..SlaveConfig::new(64)
        },
        SlaveConfig {
            max_reads: 0,
            ..SlaveConfig::new(64)
        },
        SlaveConfig {
            w_buffer: 0,
            ..SlaveConfig::new(64)
        },
        SlaveConfig {
            stalls: SlaveStalls::uniform(1.5, 0),
            ..SlaveConfig::new(64)
        },
    ];
    for cfg in bad {
        assert!(
            Axi4Slave::new(cfg.clone(), vec![0u8; 16]).is_err(),
            "{cfg:?}"
        );
    }
    assert!(Axi4Checker::new(CheckerConfig::new(1024)).is_err());
}

/// `ready_after_valid`: AWREADY, WREADY and ARREADY are low until their VALID has been seen
/// high (and not taken) at an edge, high in the next cycle (no stalls, room for bursts), and
/// random traffic through such a slave passes the checker.
#[test]
fn ready_after_valid_waits_for_the_request() {
    let cfg = SlaveConfig {
        ready_after_valid: true,
        ..SlaveConfig::new(64)
    };
    let mut slave = Axi4Slave::new(cfg.clone(), vec![0u8; 4096]).expect("valid config");
    let idle = MasterOut::default();
    for _ in 0..3 {
        let o = *slave.outputs();
        assert!(
            !o.awready && !o.wready && !o.arready,
            "ready before any valid: {o:?}"
        );
        slave.tick(&idle).expect("idle edge");
    }
    let ar = MasterOut {
        ar: AddrBeat::incr(0, 0x100, 2, 8),
        ..MasterOut::default()
    };
    assert!(!slave.outputs().arready);
    slave.tick(&ar).expect("AR waits");
    assert!(
        slave.outputs().arready,
        "ARREADY the cycle after ARVALID was seen"
    );
    assert!(!slave.outputs().awready, "AWREADY without AWVALID");
    slave.tick(&ar).expect("AR taken");
    assert!(!slave.outputs().arready, "ARREADY again without a new wait");
    for seed in 0..3 {
        let cfg = SlaveConfig {
            ready_after_valid: true,
            stalls: SlaveStalls::uniform(0.2, seed),
            ..SlaveConfig::new(64)
        };
        let r = random_traffic(&traffic(cfg, seed));
        assert!(r.counters.read_beats > 100 && r.counters.write_beats > 100);
    }
}
