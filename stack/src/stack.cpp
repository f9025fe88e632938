// SPDX-License-Identifier: BSD-3-Clause
// stack.cpp - tunstack::stack: lwIP's lifetime (init, teardown so the next stack can init
// again), its clock and its timers on one asio::steady_timer, the interface list, and the
// statistics snapshot. The link <-> netif bridge lives in netif_adapter.cpp.
#include "tunstack/stack.hpp"

#include "detail/interface.hpp"
#include "detail/lwip_address.hpp"
#include "detail/stack_impl.hpp"
#include "detail/tcp_tracer.hpp"
#include "tunstack/error.hpp"
#include "tunstack/netif/link.hpp"
#include "tunstack_port.h"

#include "lwip/init.h"
#include "lwip/ip4_frag.h"
#include "lwip/ip6_frag.h"
#include "lwip/memp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"

#include <asio/execution/context.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/query.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <limits>
#include <stdexcept>
#include <typeinfo>

namespace tunstack {
namespace detail {
namespace {

// The stack of this process; set while one exists (also what refuses a second one).
std::atomic<stack_impl*> g_current_impl{nullptr};
// Read by for_executor() on any thread that makes a socket from an executor.
std::atomic<tunstack::stack*> g_current_stack{nullptr};
// A function-local static: providers register from other translation units' static
// initialisers, which may run before this file's.
tunstack::stack::provider& g_provider() {
  static tunstack::stack::provider instance;
  return instance;
}
// True while a stack tears lwIP down: the destructor may run on a thread that is not the
// io_context's (after the io_context stopped), and lwIP's core-lock check must allow it.
std::atomic<bool> g_tearing_down{false};  // read by lwIP's core-lock check, on any thread

// Pool descriptions in MEMP_* order, from lwIP's own pool list.
constexpr const char* pool_names[] = {
#define LWIP_MEMPOOL(name, num, size, desc) desc,
#include "lwip/priv/memp_std.h"
};

protocol_counters copy(const stats_proto& p) {
  protocol_counters c;
  c.xmit = p.xmit;
  c.recv = p.recv;
  c.fw = p.fw;
  c.drop = p.drop;
  c.chkerr = p.chkerr;
  c.lenerr = p.lenerr;
  c.memerr = p.memerr;
  c.rterr = p.rterr;
  c.proterr = p.proterr;
  c.opterr = p.opterr;
  c.err = p.err;
  return c;
}

// Frees every pcb lwIP still holds. Sockets detach from their pcbs before the stack goes away;
// whatever is left (e.g. TIME-WAIT) is freed without calling back into anyone.
void free_all_pcbs() {
  while (tcp_active_pcbs != nullptr) {
    tcp_pcb* pcb = tcp_active_pcbs;
    tcp_arg(pcb, nullptr);
    tcp_recv(pcb, nullptr);
    tcp_sent(pcb, nullptr);
    tcp_err(pcb, nullptr);
    tcp_poll(pcb, nullptr, 0);
    tcp_abort(pcb);  // removes it from tcp_active_pcbs
  }
  while (tcp_tw_pcbs != nullptr) tcp_abort(tcp_tw_pcbs);
  while (tcp_listen_pcbs.listen_pcbs != nullptr) {
    tcp_pcb_listen* lpcb = tcp_listen_pcbs.listen_pcbs;
    tcp_arg(reinterpret_cast<tcp_pcb*>(lpcb), nullptr);
    tcp_accept(reinterpret_cast<tcp_pcb*>(lpcb), nullptr);
    tcp_close(reinterpret_cast<tcp_pcb*>(lpcb));
  }
  while (tcp_bound_pcbs != nullptr) {
    tcp_pcb* pcb = tcp_bound_pcbs;
    tcp_arg(pcb, nullptr);
    if (tcp_close(pcb) != ERR_OK) tcp_abort(pcb);
  }
  while (udp_pcbs != nullptr) udp_remove(udp_pcbs);
}

// Ages out every partly reassembled datagram (each call ages them by one timer tick).
void drain_reassembly() {
  for (int i = 0; i < 256; ++i) {
    ip_reass_tmr();
    ip6_reass_tmr();
  }
}

// lwIP runs its slow TCP timer on every second call of tcp_tmr(), counting the calls in a
// static that no API resets; left odd by one stack, the next one's retransmissions and
// keep-alives would fire 250 ms off, so the same seed would not repeat a run. With no pcbs
// left, one call of tcp_tmr() shows the parity (tcp_ticks moves when the slow timer runs) and
// a second one, if needed, restores the state of a fresh process.
void reset_tcp_timer_phase() {
  const u32_t ticks = tcp_ticks;
  tcp_tmr();
  if (tcp_ticks != ticks) tcp_tmr();  // the count is odd now; one more makes it even
  tcp_ticks = 0;
}

bool is_cyclic_timer(const void* arg) {
  const void* first = &lwip_cyclic_timers[0];
  const void* past = &lwip_cyclic_timers[lwip_num_cyclic_timers];
  return arg >= first && arg < past;
}

// Empties lwIP's timer list so that lwip_init() can register its cyclic timers again. A
// non-cyclic timer (TCP's, started on demand) is run once: with no pcbs left it notes that it
// is no longer active, so the next stack can start it again.
void clear_timeouts() {
  sys_timeo** head = sys_timeouts_get_next_timeout();
  while (*head != nullptr) {
    sys_timeo* t = *head;
    *head = t->next;
    const sys_timeout_handler handler = t->h;
    void* const arg = t->arg;
    memp_free(MEMP_SYS_TIMEOUT, t);
    if (handler != nullptr && !is_cyclic_timer(arg)) handler(arg);
  }
}

}  // namespace

stack_impl::stack_impl(asio::io_context& io, stack_options options)
    : io_(io), options_(std::move(options)), timer_(io) {
  stack_impl* none = nullptr;
  if (!g_current_impl.compare_exchange_strong(none, this)) {
    throw std::logic_error(
        "tunstack::stack: a stack already exists in this process. lwIP keeps its state in "
        "globals, so there can be only one stack at a time; destroy the other one first, or "
        "add another interface to it");
  }
  if (options_.rx_batch == 0) options_.rx_batch = 1;
}

stack_impl* stack_impl::current() noexcept { return g_current_impl; }

namespace {
// True while this thread runs the sinks: a sink that calls the stack must not have the sinks
// called again inside it (what it causes is delivered next, from a posted handler).
thread_local bool t_delivering = false;
}  // namespace

void stack_impl::defer(deferred&& item) const {
  {
    const std::lock_guard<std::mutex> guard(deferred_mutex_);
    deferred_.push_back(std::move(item));
    if (delivery_posted_) return;
    delivery_posted_ = true;
  }
  // A handler of its own, run without the entry lock: whatever the sinks do, no lwIP call and
  // no tunstack code is in progress underneath.
  asio::post(io_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->deliver_deferred();
  });
}

void stack_impl::deliver_deferred() const noexcept {
  if (t_delivering) return;
  const std::lock_guard<std::mutex> order(delivery_mutex_);
  std::vector<deferred> batch;
  {
    const std::lock_guard<std::mutex> guard(deferred_mutex_);
    batch.swap(deferred_);
    delivery_posted_ = false;  // what the sinks cause now gets a delivery of its own
  }
  t_delivering = true;
  for (deferred& item : batch) {
    try {
      if (auto* line = std::get_if<deferred_line>(&item)) {
        options_.log(line->level, line->text);
      } else if (options_.trace) {
        options_.trace(std::get<trace_event>(item));
      }
    } catch (...) {
      // A sink that throws loses its line; the stack's thread (an Asio handler, or a
      // destructor) is no place to let it escape to.
    }
  }
  t_delivering = false;
}

stack_impl::~stack_impl() { shutdown(); }

void stack_impl::trace_scan() {
  if (tracer_) tracer_->scan(now_ns());
}

namespace {
// lwIP's core-lock check: the stack's thread, or any thread while the io_context is stopped
// (nothing runs the stack then, e.g. sockets destroyed after io_context::run() returned).
bool may_enter_lwip(const stack_impl& s) noexcept { return s.on_stack_thread() || s.io_stopped(); }
}  // namespace

void stack_impl::start() {
  port::hooks hooks;
  hooks.context = this;
  hooks.now_ms = [](void* self) { return static_cast<stack_impl*>(self)->now_ms(); };
  hooks.now_us = [](void* self) {
    return static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(static_cast<stack_impl*>(self)->now_ns()).count());
  };
  hooks.on_stack_thread = [](void* self) {
    return g_tearing_down || may_enter_lwip(*static_cast<stack_impl*>(self));
  };
  hooks.diag = [](void* self, const char* line) {
    static_cast<stack_impl*>(self)->log(log_level::trace, std::string{"lwip: "} + line);
  };
  hooks.listen_full = [](void*, struct tcp_pcb* listener) { return tcp_listener_make_room(listener); };
  hooks.admit_data = [](void* self, struct tcp_pcb* pcb, std::uint32_t seqno, std::size_t length) {
    return static_cast<stack_impl*>(self)->admit_data(pcb, seqno, length);
  };
  port::install(hooks);
  listen_drops_at_start_ = port::listen_drops();
  if (options_.seed) port::seed_random(*options_.seed);

  // Counters start at zero for every stack (lwIP's are globals that outlive it).
  std::memset(&lwip_stats, 0, sizeof(lwip_stats));
  tcp_loss_stats = {};
  tcp_orphan_timeout_ms = static_cast<u32_t>(std::max<std::int64_t>(0, options_.orphan_timeout.count()));
  tcp_defense_stats = {};
  lwip_init();  // memp_init() points lwip_stats.memp[] at the pools again
  for (stats_mem* pool : lwip_stats.memp) {
    if (pool != nullptr) {
      pool->max = pool->used;
      pool->err = 0;
    }
  }
  started_lwip_ = true;
  if (options_.trace) tracer_ = std::make_unique<tcp_tracer>([this](trace_event&& e) { trace(std::move(e)); });
  // The first handler the io_context runs: from then on, the stack belongs to the thread that
  // runs it (see on_stack_thread).
  asio::post(io_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      const auto entered = self->enter_handler();
    }
  });
  log(log_level::debug, "lwIP " LWIP_VERSION_STRING " initialised");
  schedule_timers();
}

void stack_impl::shutdown() noexcept {
  if (!started_lwip_) return;
  tear_down();
  // What the teardown reported (connections closing, pools left in use) reaches the sinks now:
  // no handler will run for it any more. A sink that logs through the stack adds a round.
  for (int round = 0; round < 8 && has_deferred(); ++round) deliver_deferred();
}

bool stack_impl::has_deferred() const noexcept {
  const std::lock_guard<std::mutex> guard(deferred_mutex_);
  return !deferred_.empty();
}

void stack_impl::run_later(std::size_t n) noexcept {
  for (; n > 0; --n) {
    std::function<void()> f;
    {
      const std::lock_guard<std::mutex> guard(later_mutex_);
      if (later_.empty()) return;
      f = std::move(later_.front());
      later_.pop_front();
    }
    f();  // closes and cancels: noexcept work
  }
}

void stack_impl::tear_down() noexcept {
  entry lock(handover_);  // a handler still finishing on the io_context's thread goes first
  g_tearing_down = true;
  // Closes requested from other threads that the stack's thread did not get to (the io_context
  // stopped first) happen now, while the interfaces still send: a FIN, not the abort below.
  run_later(std::numeric_limits<std::size_t>::max());
  try {
    timer_.cancel();
  } catch (const std::system_error&) {
    // cannot fail for a timer that exists; nothing to do if it did
  }
  timer_armed_ = false;
  // Sockets and listeners let go of their pcbs and fail their pending operations first (the
  // completions are posted; they run if the io_context runs again).
  // Taken one at a time from the live set: notifying one object may destroy others (a
  // listener lets go of connections nobody accepted), which then leave the set themselves.
  while (!objects_.empty()) {
    stack_object* o = *objects_.begin();
    objects_.erase(objects_.begin());
    o->on_stack_shutdown();
  }
  for (auto& i : interfaces_) {
    if (i) i->stop();
  }
  interfaces_.clear();
  free_all_pcbs();
  trace_scan();  // the connections that were still open end here
  tracer_.reset();
  drain_reassembly();
  clear_timeouts();
  reset_tcp_timer_phase();  // after clear_timeouts(), whose last run of TCP's timer counts too
  for (std::size_t i = 0; i < MEMP_MAX; ++i) {
    const stats_mem* pool = lwip_stats.memp[i];
    if (pool != nullptr && pool->used != 0 && i != MEMP_SYS_TIMEOUT) {
      log(log_level::warning, std::string{"lwIP pool "} + pool_names[i] + " still has " +
                                  std::to_string(pool->used) + " elements in use at teardown");
    }
  }
  g_tearing_down = false;
  port::uninstall();
  started_lwip_ = false;
  g_current_impl = nullptr;
}

bool stack_impl::on_stack_thread() const noexcept {
  // owner_ is the thread that created the stack until the io_context runs our first handler,
  // then the thread that runs it (also between its poll() calls, as tests do).
  return io_.get_executor().running_in_this_thread() || std::this_thread::get_id() == owner_;
}

asio::execution_context* stack_impl::context_of(const asio::any_io_executor& ex) noexcept {
  // Every executor answers this query with its context, which is how Asio itself compares
  // executors; the empty executor would throw bad_executor instead.
  if (!ex) return nullptr;
  return &asio::query(ex, asio::execution::context);
}

namespace {
// any_executor::target<T>() is an unchecked cast in Asio 1.22 (it returns whatever it holds as a
// T*), so the type is compared first. An io_context executor carries its properties
// (blocking.never, relationship.continuation, outstanding_work.tracked) as bits of its type; an
// any_io_executor may hold any of the eight, or a strand of any of them.
template <class Executor>
asio::io_context* io_context_if(const asio::any_io_executor& ex) noexcept {
  if (ex.target_type() != typeid(Executor)) return nullptr;
  return &asio::query(*ex.target<Executor>(), asio::execution::context);
}

template <std::uintptr_t... Bits>
asio::io_context* io_context_in(const asio::any_io_executor& ex, std::integer_sequence<std::uintptr_t, Bits...>) noexcept {
  using std::allocator;
  asio::io_context* found = nullptr;
  ((found = found != nullptr ? found : io_context_if<asio::io_context::basic_executor_type<allocator<void>, Bits>>(ex)),
   ...);
  ((found = found != nullptr
                ? found
                : io_context_if<asio::strand<asio::io_context::basic_executor_type<allocator<void>, Bits>>>(ex)),
   ...);
  return found;
}
}  // namespace

asio::io_context* stack_impl::io_context_of(const asio::any_io_executor& ex) noexcept {
  if (!ex) return nullptr;
  return io_context_in(ex, std::make_integer_sequence<std::uintptr_t, 8>{});
}

std::chrono::nanoseconds stack_impl::now_ns() const noexcept {
  if (options_.clock == clock_kind::manual) return std::chrono::nanoseconds(manual_now_ns_);
  return std::chrono::steady_clock::now() - started_;
}

std::uint32_t stack_impl::now_ms() const noexcept {
  return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now_ns()).count());
}

// The memory ceiling. lwIP's heap and pools both come from malloc (MEM_LIBC_MALLOC,
// MEMP_MEM_MALLOC), so lwip_stats.mem.used is all of its memory: received data not read yet,
// send queues, out-of-order queues, pcbs, each counted as allocated.
bool stack_impl::over_memory_limit() noexcept {
  if (options_.memory_limit == 0 || lwip_stats.mem.used <= options_.memory_limit) {
    prune_done_ = false;
    return false;
  }
  // Once per episode above the limit (and at most every 100 ms): empty the out-of-order queues,
  // the memory that is cheapest to give up (the peers send it again) and that a peer can fill
  // on many connections without ever letting the application read.
  const std::uint32_t now = now_ms();
  if (!prune_done_ || now - last_prune_ms_ >= 100) {
    prune_done_ = true;
    last_prune_ms_ = now;
    for (tcp_pcb* p = tcp_active_pcbs; p != nullptr; p = p->next) {
      if (p->ooseq != nullptr) {
        tcp_free_ooseq(p);
        ++ooseq_pruned_;
      }
    }
  }
  return true;
}

bool stack_impl::admit_data(tcp_pcb* pcb, std::uint32_t seqno, std::size_t length) noexcept {
  if (!over_memory_limit()) return true;
  // Above the limit: no new out-of-order data, and no more in-order data for a connection that
  // holds more than its floor unread (received, not yet consumed by the application).
  const std::size_t unread = TCP_WND_MAX(pcb) > pcb->rcv_wnd ? TCP_WND_MAX(pcb) - pcb->rcv_wnd : 0;
  if (seqno != pcb->rcv_nxt || unread + length > memory_share_floor) {
    ++segments_shed_;
    return false;
  }
  return true;
}

void stack_impl::run_due_timers() {
  sys_check_timeouts();
  ++timer_runs_;
  trace_scan();
}

void stack_impl::schedule_timers() {
  if (!started_lwip_) return;
  trace_scan();  // called after every input batch and API call: what they changed
  if (options_.clock == clock_kind::manual) return;
  const u32_t sleep = sys_timeouts_sleeptime();
  if (sleep == SYS_TIMEOUTS_SLEEPTIME_INFINITE) return;  // an armed timer finds nothing: fine
  const auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(sleep);
  // A pending wait that fires no later than needed is kept: re-arming costs a cancellation,
  // and a wake-up that finds nothing due just re-arms.
  if (timer_armed_ && timer_due_ <= due) return;
  timer_.expires_at(due);  // cancels a pending wait (its handler sees operation_aborted)
  timer_due_ = due;
  timer_armed_ = true;
  timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->on_timer();
  });
}

void stack_impl::on_timer() {
  const auto entered = enter_handler();
  timer_armed_ = false;
  run_due_timers();
  schedule_timers();
}

void stack_impl::advance_time(std::chrono::nanoseconds d) {
  if (options_.clock != clock_kind::manual) {
    throw std::logic_error("tunstack::stack::advance_time needs a stack with clock_kind::manual");
  }
  if (d.count() < 0) throw std::invalid_argument("tunstack::stack::advance_time: negative duration");
  constexpr std::uint64_t ns_per_ms = 1'000'000;
  const std::uint64_t target = manual_now_ns_ + static_cast<std::uint64_t>(d.count());
  for (;;) {
    const u32_t sleep = sys_timeouts_sleeptime();
    if (sleep == SYS_TIMEOUTS_SLEEPTIME_INFINITE) break;
    // Due at a whole millisecond of lwIP's clock (which truncates ours).
    const std::uint64_t due = (manual_now_ns_ / ns_per_ms + sleep) * ns_per_ms;
    if (due > target) break;
    manual_now_ns_ = std::max(manual_now_ns_, due);
    run_due_timers();
  }
  manual_now_ns_ = target;
}

std::optional<std::chrono::nanoseconds> stack_impl::next_timer() const {
  const u32_t sleep = sys_timeouts_sleeptime();
  if (sleep == SYS_TIMEOUTS_SLEEPTIME_INFINITE) return std::nullopt;
  if (options_.clock != clock_kind::manual) return std::chrono::milliseconds(sleep);
  constexpr std::uint64_t ns_per_ms = 1'000'000;
  const std::uint64_t due = (manual_now_ns_ / ns_per_ms + sleep) * ns_per_ms;
  return std::chrono::nanoseconds(due > manual_now_ns_ ? due - manual_now_ns_ : 0);
}

interface_id stack_impl::add_interface(netif::link& link, const interface_config& config) {
  if (link.mtu() < 68 || link.mtu() > 65535) {
    throw std::invalid_argument("tunstack::stack::add_interface: link " + link.name() +
                                " has MTU " + std::to_string(link.mtu()) +
                                "; IP needs 68..65535");
  }
  interfaces_.push_back(interface::create(*this, link, config));
  schedule_timers();
  return interface_id{interfaces_.size() - 1};
}

void stack_impl::remove_interface(interface_id id) {
  if (id.value >= interfaces_.size() || !interfaces_[id.value]) {
    throw std::invalid_argument("tunstack::stack::remove_interface: no such interface");
  }
  interfaces_[id.value]->stop();
  interfaces_[id.value].reset();
  schedule_timers();
}

stack_stats stack_impl::stats() const {
  stack_stats s;
  s.uptime = std::chrono::milliseconds(now_ms());
  for (const auto& i : interfaces_) {
    if (i) s.interfaces.push_back(i->stats());
  }
  s.ip4 = copy(lwip_stats.ip);
  s.ip4_frag = copy(lwip_stats.ip_frag);
  s.icmp4 = copy(lwip_stats.icmp);
  s.ip6 = copy(lwip_stats.ip6);
  s.ip6_frag = copy(lwip_stats.ip6_frag);
  s.icmp6 = copy(lwip_stats.icmp6);
  s.nd6 = copy(lwip_stats.nd6);
  s.udp = copy(lwip_stats.udp);
  s.tcp = copy(lwip_stats.tcp);
  s.memory.heap_used = lwip_stats.mem.used;
  s.memory.heap_max = lwip_stats.mem.max;
  s.memory.heap_err = lwip_stats.mem.err;
  s.memory.limit = options_.memory_limit;
  s.memory.over_limit = options_.memory_limit != 0 && lwip_stats.mem.used > options_.memory_limit;
  s.memory.segments_shed = segments_shed_;
  s.memory.writes_held = writes_held_;
  s.memory.ooseq_pruned = ooseq_pruned_;
  s.memory.received_compacted = received_compacted_;
  for (std::size_t i = 0; i < MEMP_MAX; ++i) {
    const stats_mem* pool = lwip_stats.memp[i];
    if (pool == nullptr) continue;
    s.memory.pools.push_back({pool_names[i], pool->used, pool->max, pool->err});
  }
  s.timer_runs = timer_runs_;
  s.tcp_listen_drops = port::listen_drops() - listen_drops_at_start_;
  s.tcp_loss.recoveries = tcp_loss_stats.recoveries;
  s.tcp_loss.timeouts = tcp_loss_stats.timeouts;
  s.tcp_loss.probes = tcp_loss_stats.probes;
  s.tcp_loss.retransmitted_segments = tcp_loss_stats.rexmit_segs;
  s.tcp_defense.ooseq_dropped = tcp_defense_stats.ooseq_dropped;
  s.tcp_defense.ooseq_compacted = tcp_defense_stats.ooseq_compacted;
  s.tcp_defense.syncookies_sent = tcp_defense_stats.syncookies_sent;
  s.tcp_defense.syncookies_accepted = tcp_defense_stats.syncookies_accepted;
  s.tcp_defense.syncookies_rejected = tcp_defense_stats.syncookies_rejected;
  s.tcp_defense.orphans_reset = tcp_defense_stats.orphans_reset;
  return s;
}

namespace {

tcp_connection_info describe(const tcp_pcb* pcb) {
  tcp_connection_info i;
  i.local = endpoint_of(pcb->local_ip, pcb->local_port);
  i.state = rfc9293_name(pcb->state);
  if (pcb->state == LISTEN) return i;
  i.remote = endpoint_of(pcb->remote_ip, pcb->remote_port);
  i.send_queued = TCP_SND_BUF - pcb->snd_buf;
  i.receive_queued = TCP_WND_MAX(pcb) > pcb->rcv_wnd ? TCP_WND_MAX(pcb) - pcb->rcv_wnd : 0;
  i.send_window = pcb->snd_wnd;
  i.receive_window = pcb->rcv_wnd;
  i.mss = pcb->mss;
  i.cwnd = pcb->cwnd;
  i.ssthresh = pcb->ssthresh;
  const rtt_figures rtt = rtt_of(pcb);
  i.srtt = rtt.srtt;
  i.rttvar = rtt.rttvar;
  i.rto = rtt.rto;
  i.retransmissions = pcb->nrtx;
  return i;
}

}  // namespace

std::vector<tcp_connection_info> stack_impl::tcp_connections() const {
  std::vector<tcp_connection_info> all;
  for (const tcp_pcb_listen* l = tcp_listen_pcbs.listen_pcbs; l != nullptr; l = l->next) {
    all.push_back(describe(reinterpret_cast<const tcp_pcb*>(l)));
  }
  for (const tcp_pcb* p = tcp_active_pcbs; p != nullptr; p = p->next) all.push_back(describe(p));
  for (const tcp_pcb* p = tcp_tw_pcbs; p != nullptr; p = p->next) all.push_back(describe(p));
  return all;
}

}  // namespace detail

stack::stack(asio::io_context& io, stack_options options)
    : impl_(std::make_shared<detail::stack_impl>(io, std::move(options))) {
  impl_->start();
  detail::g_current_stack = this;
  impl_->deliver_deferred();  // on the thread that made the stack: its first lines, in order
}

stack::~stack() {
  detail::g_current_stack = nullptr;
  impl_->shutdown();
  impl_.reset();
}

namespace detail {
namespace {

// The error for_executor() throws. Asio programs make their acceptor inside a coroutine, and
// spawn that with asio::detached, which discards the coroutine's exception: the program would
// wait for connections that never come, without a word. So an error that is dropped without
// anyone having read its what() is printed to stderr as it is destroyed; code that catches and
// reports it (or ignores it knowingly: `catch (...) {}` still prints) sees it only once.
class unobserved_error final : public std::system_error {
 public:
  unobserved_error(std::error_code ec, std::string what)
      : std::system_error(ec), state_(std::make_shared<state>(std::move(what))) {}
  unobserved_error(const unobserved_error&) noexcept = default;  // copies share the state
  ~unobserved_error() override {
    if (state_.use_count() == 1 && !state_->seen.load()) {
      std::fprintf(stderr, "%s (this error was thrown where nothing caught it, e.g. in a coroutine "
                   "spawned with asio::detached)\n", state_->what.c_str());
    }
  }
  const char* what() const noexcept override {
    state_->seen.store(true);
    return state_->what.c_str();
  }

 private:
  struct state {
    explicit state(std::string w) : what(std::move(w)) {}
    std::string what;
    std::atomic<bool> seen{false};
  };
  std::shared_ptr<state> state_;
};

}  // namespace
}  // namespace detail

stack& stack::for_executor(const asio::any_io_executor& ex) {
  // Whatever went wrong (no stack; a provider that could not make one: no TUN device, a bad
  // TUNSTACK_* variable) reaches the caller as std::system_error, as Asio's constructors throw.
  try {
    return find_for_executor(ex);
  } catch (const std::system_error& e) {
    throw detail::unobserved_error(e.code(), e.what());
  } catch (const std::invalid_argument& e) {
    throw detail::unobserved_error(std::make_error_code(std::errc::invalid_argument), e.what());
  } catch (const std::exception& e) {
    throw detail::unobserved_error(make_error_code(errc::no_stack), e.what());
  }
}

stack& stack::find_for_executor(const asio::any_io_executor& ex) {
  if (tunstack::stack* current = detail::g_current_stack) {
    if (current->impl().runs_on(detail::stack_impl::context_of(ex))) return *current;
    throw std::system_error(
        make_error_code(errc::no_stack),
        "tunstack: this executor's io_context is not the one the stack runs on (lwIP allows one "
        "stack per process, and its sockets must use that stack's io_context)");
  }
  asio::io_context* io = detail::stack_impl::io_context_of(ex);
  if (io == nullptr && ex) {
    throw std::system_error(
        make_error_code(errc::no_stack),
        "tunstack: this executor is not an io_context's (nor a strand of one): tunstack's sockets "
        "run on the io_context of a tunstack::stack, or on a strand of it");
  }
  if (detail::g_provider() && io != nullptr) return detail::g_provider()(*io);
  throw std::system_error(
      make_error_code(errc::no_stack),
      "tunstack: no tunstack::stack runs on this executor's io_context: create one first "
      "(tunstack::stack st{io}; st.add_interface(...)), or link tunstack::autostart to have one "
      "made from TUNSTACK_* environment variables");
}

stack::provider stack::set_provider(provider p) { return std::exchange(detail::g_provider(), std::move(p)); }

stack::executor_type stack::get_executor() const noexcept { return impl_->io().get_executor(); }

bool stack::running_in_this_thread() const noexcept { return impl_->on_stack_thread(); }

// Every member that reads or changes lwIP's state runs on the stack's thread, under the entry
// lock (see stack_impl::invoke), also when called from a handler of the application's.
// Called by the application, so nothing of lwIP's or ours is underneath: on the stack's thread,
// what the call logged can reach the sinks before it returns (before the program's next line).
interface_id stack::add_interface(netif::link& link, const interface_config& config) {
  const interface_id id = impl_->invoke([&] { return impl_->add_interface(link, config); });
  if (impl_->on_stack_thread()) impl_->deliver_deferred();
  return id;
}

void stack::remove_interface(interface_id id) {
  impl_->invoke([&] { impl_->remove_interface(id); });
  if (impl_->on_stack_thread()) impl_->deliver_deferred();
}

stack_stats stack::stats() const { return impl_->invoke([&] { return impl_->stats(); }); }

std::vector<tcp_connection_info> stack::tcp_connections() const {
  return impl_->invoke([&] { return impl_->tcp_connections(); });
}

std::chrono::milliseconds stack::now() const { return std::chrono::milliseconds(impl_->now_ms()); }

std::optional<std::chrono::nanoseconds> stack::next_timer() const {
  return impl_->invoke([&] { return impl_->next_timer(); });
}

void stack::advance_time(std::chrono::nanoseconds d) {
  impl_->invoke([&] { impl_->advance_time(d); });
}

}  // namespace tunstack
