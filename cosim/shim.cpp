// Template of the C ABI shim between `systolic::cosim::verilator` (Rust) and a Verilated model.
//
// The Rust side fills the `@...@` placeholders (model class, thread count, per-port copy code)
// and hashes the result into the build-cache key, so any edit here rebuilds every cached model.
// Bump SHIM_ABI_VERSION (and the Rust constant of the same name) when the C ABI below changes.
//
// Port values cross the boundary as two flat arrays of little-endian 32-bit words: one for all
// inputs except `clk` (which the shim drives itself) and one for all outputs, each port at a
// fixed word offset computed on the Rust side. One call copies all inputs in, evaluates, and
// copies all outputs out.

#include <cstdint>
#include <cstring>
#include <new>

#include "verilated.h"
#include "@MODEL@.h"
#if VM_TRACE_FST
#include "verilated_fst_c.h"
typedef VerilatedFstC Tracer;  // --trace-fst: FST, several times smaller than VCD
#elif VM_TRACE
#include "verilated_vcd_c.h"
typedef VerilatedVcdC Tracer;
#endif

#define SHIM_ABI_VERSION 1u
#define SHIM_THREADS @THREADS@u
#define SHIM_IN_WORDS @IN_WORDS@u
#define SHIM_OUT_WORDS @OUT_WORDS@u

namespace {

struct Shim {
    VerilatedContext* ctx = nullptr;
    @MODEL@* top = nullptr;
#if VM_TRACE
    Tracer* vcd = nullptr;
#endif
    uint64_t cycle = 0;  // number of completed shim_tick calls
    // clk was lowered after the last rising edge but the model has not evaluated it yet: the
    // next evaluation (shim_eval, or the start of shim_tick) does, together with the new
    // inputs. One evaluation per cycle less for the usual eval-then-tick loop.
    bool fall_pending = false;
};

inline void copy_in(@MODEL@* top, const uint32_t* in) {
    (void)top;
    (void)in;
@COPY_IN@
}

inline void copy_out(const @MODEL@* top, uint32_t* out) {
    (void)top;
    (void)out;
@COPY_OUT@
}

#if VM_TRACE
void trace_close(Shim* s) {
    if (!s->vcd) return;
    // Record the final clk-low state, then close.
    s->ctx->time(2 * s->cycle);
    if (s->fall_pending) {
        s->top->eval();
        s->fall_pending = false;
    }
    s->vcd->dump(2 * s->cycle);
    s->vcd->close();
    delete s->vcd;
    s->vcd = nullptr;
}
#endif

}  // namespace

extern "C" {

uint32_t shim_abi_version() { return SHIM_ABI_VERSION; }
uint32_t shim_in_words() { return SHIM_IN_WORDS; }
uint32_t shim_out_words() { return SHIM_OUT_WORDS; }

// A fresh, independent simulation: own VerilatedContext, own model. Returns null on failure.
void* shim_new() {
    Shim* s = nullptr;
    try {
        s = new Shim;
        s->ctx = new VerilatedContext;
        s->ctx->threads(SHIM_THREADS);
        s->ctx->fatalOnError(true);
#if VM_TRACE
        s->ctx->traceEverOn(true);
#endif
        s->top = new @MODEL@(s->ctx, "TOP");
        s->top->clk = 0;
        return s;
    } catch (...) {
        if (s) {
            delete s->top;
            delete s->ctx;
            delete s;
        }
        return nullptr;
    }
}

void shim_delete(void* p) {
    Shim* s = static_cast<Shim*>(p);
    if (!s) return;
#if VM_TRACE
    trace_close(s);
#endif
    s->top->final();
    delete s->top;
    delete s->ctx;
    delete s;
}

// Inputs in, settle combinational logic with clk low, outputs out. No clock edge, no trace dump.
void shim_eval(void* p, const uint32_t* in, uint32_t* out) {
    Shim* s = static_cast<Shim*>(p);
    copy_in(s->top, in);
    s->top->eval();
    s->fall_pending = false;
    copy_out(s->top, out);
}

// One clock cycle. Simulation (and trace) time is 2*cycle with clk low and 2*cycle+1 with clk
// high: inputs in, [settle with clk low if the falling edge of the previous tick is pending (no
// shim_eval since) or if tracing, + dump at 2c], clk=1 + eval (+ dump at 2c+1), clk=0 left for
// the next evaluation, outputs out. The outputs are those of the rising-edge evaluation: the
// post-edge values, as with a falling-edge evaluation too unless the design reads clk outside
// of `posedge clk` (negedge logic, clk in a combinational path).
void shim_tick(void* p, const uint32_t* in, uint32_t* out) {
    Shim* s = static_cast<Shim*>(p);
    const uint64_t t = 2 * s->cycle;
    copy_in(s->top, in);
#if VM_TRACE
    if (s->vcd) {
        s->ctx->time(t);
        s->top->eval();
        s->fall_pending = false;
        s->vcd->dump(t);
    }
#endif
    if (s->fall_pending) {
        // Verilator detects edges against the values of the last evaluation: clk must be seen
        // low before it rises again.
        s->ctx->time(t);
        s->top->eval();
    }
    s->ctx->time(t + 1);
    s->top->clk = 1;
    s->top->eval();
#if VM_TRACE
    if (s->vcd) s->vcd->dump(t + 1);
#endif
    s->ctx->time(t + 2);
    s->top->clk = 0;
    s->fall_pending = true;
    s->cycle += 1;
    copy_out(s->top, out);
}

// 0 = open, 1 = model built without tracing, 2 = could not open the file.
int32_t shim_trace_open(void* p, const char* path) {
#if VM_TRACE
    Shim* s = static_cast<Shim*>(p);
    try {
        trace_close(s);
        s->vcd = new Tracer;
        s->top->trace(s->vcd, 99);
        s->vcd->open(path);
        if (!s->vcd->isOpen()) {
            delete s->vcd;
            s->vcd = nullptr;
            return 2;
        }
        return 0;
    } catch (...) {
        return 2;
    }
#else
    (void)p;
    (void)path;
    return 1;
#endif
}

void shim_trace_close(void* p) {
#if VM_TRACE
    trace_close(static_cast<Shim*>(p));
#else
    (void)p;
#endif
}

void shim_trace_flush(void* p) {
#if VM_TRACE
    Shim* s = static_cast<Shim*>(p);
    if (s->vcd) s->vcd->flush();
#else
    (void)p;
#endif
}

// 1 once the design executed $finish.
int32_t shim_got_finish(void* p) {
    return static_cast<Shim*>(p)->ctx->gotFinish() ? 1 : 0;
}

}  // extern "C"
