use systolic::config::{Config, RawConfig};
use systolic::verilog::print_module;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (rows, cols, fmt, bits, reads) = (
        args[1].parse().unwrap(),
        args[2].parse().unwrap(),
        args[3].clone(),
        args[4].parse().unwrap(),
        args[5].parse().unwrap(),
    );
    let out = std::path::Path::new(&args[6]);
    std::fs::create_dir_all(out).unwrap();
    let cfg = Config::from_raw(&RawConfig {
        name: "d".into(),
        rows,
        cols,
        format: fmt,
        acc_bits: 32,
        psum_banks: 2,
        psum_depth: 16,
        sbuf_depth: 64,
        dma: true,
        dma_bits: Some(bits),
        dma_reads: Some(reads),
        ..Default::default()
    })
    .unwrap();
    let which = args.get(7).map(String::as_str).unwrap_or("dma");
    if which == "dma" {
        let m = systolic::rtl::engine::dma::module(&cfg, 2);
        std::fs::write(out.join("systolic_dma.v"), print_module(&[], &m)).unwrap();
    } else {
        for (n, t) in systolic::rtl::engine::design(&cfg).files() {
            std::fs::write(out.join(n), t).unwrap();
        }
    }
}
