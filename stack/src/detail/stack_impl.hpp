// SPDX-License-Identifier: BSD-3-Clause
// detail/stack_impl.hpp - the state behind tunstack::stack: lwIP's lifetime, its clock and
// timer, the interfaces, logging. Private to the stack library.
#ifndef TUNSTACK_DETAIL_STACK_IMPL_HPP
#define TUNSTACK_DETAIL_STACK_IMPL_HPP

#include "tunstack/stack.hpp"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>
#include <variant>
#include <vector>

struct tcp_pcb;

namespace tunstack::detail {

class interface;
class tcp_tracer;

/// A SYN reached @p listener (an acceptor's listening pcb) while lwIP's backlog, its count of
/// half-open connections (a u8: at most 255), is used up. Makes room for it if the acceptor's
/// own limit allows (tcp_acceptor.cpp); false: lwIP drops the SYN.
bool tcp_listener_make_room(tcp_pcb* listener) noexcept;

/// Something that holds lwIP state (a pcb) on behalf of the application: a socket's
/// connection, a listener. When the stack goes away first, it must let go of that state and
/// fail its pending operations.
class stack_object {
 public:
  virtual void on_stack_shutdown() noexcept = 0;

 protected:
  ~stack_object() = default;
};

class stack_impl : public std::enable_shared_from_this<stack_impl> {
 public:
  stack_impl(asio::io_context& io, stack_options options);
  ~stack_impl();

  /// lwip_init() and the first timer; separate from the constructor because the timer's
  /// handler needs weak_from_this().
  void start();
  /// Frees everything lwIP holds and lets the next stack initialise lwIP afresh, then hands
  /// what that reported to the sinks.
  void shutdown() noexcept;

  asio::io_context& io() noexcept { return io_; }
  bool io_stopped() const noexcept { return io_.stopped(); }

  // The memory ceiling (stack_options::memory_limit). A connection holding less than this
  // (unread, or unsent) goes on over the limit, so that a small exchange is still served.
  static constexpr std::size_t memory_share_floor = 16 * 1024;
  /// True while lwIP's memory is above the limit.
  bool over_memory_limit() noexcept;
  /// The lwIP hook's question: may this data segment in? (See tunstack_port.h.)
  bool admit_data(tcp_pcb* pcb, std::uint32_t seqno, std::size_t length) noexcept;
  void note_write_held() noexcept { ++writes_held_; }
  void note_received_compacted() noexcept { ++received_compacted_; }
  /// True if @p context (see context_of) is the io_context this stack runs on.
  bool runs_on(const asio::execution_context* context) const noexcept { return context == &io_; }
  const stack_options& options() const noexcept { return options_; }

  /// True on the thread that may call lwIP (see stack::running_in_this_thread).
  bool on_stack_thread() const noexcept;
  /// Every entry into lwIP holds this lock: our handlers on the io_context's thread, and calls
  /// from other threads while nobody runs the io_context (after io_context::stop(), a handler
  /// may still be running: the lock makes the caller wait for it). It also marks the entering
  /// thread as the stack's thread. Recursive: lwIP callbacks re-enter through invoke().
  using entry = std::unique_lock<std::recursive_mutex>;
  [[nodiscard]] entry enter_handler() const {
    entry lock(handover_);
    owner_ = std::this_thread::get_id();
    handled_ = true;
    return lock;
  }

  /// True on the thread that runs (or, between poll() calls, ran) the stack's handlers: a
  /// blocking call there would wait for work only that thread can do.
  bool blocking_would_deadlock() const noexcept {
    return io_.get_executor().running_in_this_thread() ||
           (handled_ && std::this_thread::get_id() == owner_.load());
  }

  std::uint32_t now_ms() const noexcept;
  /// The stack's clock at full resolution (for traces).
  std::chrono::nanoseconds now_ns() const noexcept;
  /// The TCP tracer, when stack_options::trace is set.
  tcp_tracer* tracer() const noexcept { return tracer_.get(); }
  /// Reports TCP state and congestion changes since the last call (if tracing).
  void trace_scan();
  /// Re-arms the timer to lwIP's next deadline. Call after anything that may add lwIP timers:
  /// every input batch and every API call.
  void schedule_timers();
  void advance_time(std::chrono::nanoseconds d);
  std::optional<std::chrono::nanoseconds> next_timer() const;

  bool logs(log_level level) const noexcept {
    return options_.log && level <= options_.log_max;
  }
  /// Queues a line for the log sink. The sinks (log and trace) are user code that may call
  /// back into the stack, and lines and events come from the middle of lwIP's input and output,
  /// which are not re-entrant (tcp_input keeps the segment in file-level statics): so they are
  /// delivered later, in order, on the stack's thread, by deliver_deferred().
  void log(log_level level, const std::string& line) const {
    if (logs(level)) defer(deferred_line{level, line});
  }
  /// Queues a TCP trace event (see log()).
  void trace(trace_event&& event) const { defer(std::move(event)); }
  /// Hands what log() and trace() queued to the sinks. Call only where no lwIP or tunstack code
  /// is underneath (a handler of its own, the end of a public call on the stack's thread), and
  /// holding no entry lock: the sinks may call the stack, or wait for other threads. Does
  /// nothing while it is running already (a sink calling the stack): the rest follows in a
  /// handler posted for it.
  void deliver_deferred() const noexcept;

  /// Runs @p f on the stack's thread and returns its result: directly when the caller may touch
  /// lwIP (the stack's thread, or nobody runs the io_context), else posted and waited for.
  template <class F>
  auto invoke(F&& f) -> decltype(f()) {
    {
      entry lock(handover_);
      if (io_.get_executor().running_in_this_thread() || std::this_thread::get_id() == owner_.load() ||
          io_.stopped()) {
        return f();
      }
    }
    std::packaged_task<decltype(f())()> task(std::forward<F>(f));
    auto result = task.get_future();
    asio::post(io_, [weak = weak_from_this(), &task] {
      // If the stack went meanwhile the task still runs: what invoke() runs checks for that.
      entry lock;
      if (auto self = weak.lock()) lock = self->enter_handler();
      task();
    });
    return result.get();
  }

  /// Runs @p f now if on the stack's thread, else posts it there (for operation starts, whose
  /// completions are posted anyway). @p f must cope with the stack being gone by the time it
  /// runs (the operation starts check their object's gone()).
  template <class F>
  void run_or_post(F&& f) {
    {
      entry lock(handover_);
      if (io_.get_executor().running_in_this_thread() || std::this_thread::get_id() == owner_.load()) {
        f();
        return;
      }
    }
    asio::post(io_, [weak = weak_from_this(), f = std::forward<F>(f)]() mutable {
      entry lock;
      if (auto self = weak.lock()) lock = self->enter_handler();
      f();
    });
  }

  /// Runs @p f now where the caller may touch lwIP (the stack's thread, or any thread while
  /// nobody runs the io_context: invoke's rule), else queues it for the stack's thread and
  /// returns at once. For what must never wait for the stack's thread: close, cancel and
  /// destruction from other threads (the stack's thread may be running a handler that waits
  /// for the caller). Taking the entry lock waits at most for a handler of ours to finish,
  /// which never waits for anyone. Queued work runs in order, each from a handler posted for
  /// it, or at the latest when the stack is torn down: a socket closed just before the
  /// io_context stopped still sends its FIN. @p f must cope with the stack being gone.
  void run_now_or_post(std::function<void()> f) {
    {
      entry lock(handover_);
      if (io_.get_executor().running_in_this_thread() || std::this_thread::get_id() == owner_.load() ||
          io_.stopped()) {
        f();
        return;
      }
    }
    {
      const std::lock_guard<std::mutex> guard(later_mutex_);
      later_.push_back(std::move(f));
    }
    asio::post(io_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        const auto entered = self->enter_handler();
        self->run_later(1);
      }
    });
  }

  void add_object(stack_object* o) { objects_.insert(o); }
  void remove_object(stack_object* o) noexcept { objects_.erase(o); }

  /// The stack of this process, if one exists.
  static stack_impl* current() noexcept;
  /// The execution context behind @p ex, whatever its kind (nullptr for an empty executor).
  static asio::execution_context* context_of(const asio::any_io_executor& ex) noexcept;
  /// The io_context behind @p ex if it is an io_context's executor or a strand of one; nullptr
  /// for anything else (a thread_pool's executor, a system executor, ...).
  static asio::io_context* io_context_of(const asio::any_io_executor& ex) noexcept;

  interface_id add_interface(netif::link& link, const interface_config& config);
  void remove_interface(interface_id id);
  stack_stats stats() const;
  std::vector<tcp_connection_info> tcp_connections() const;

 private:
  void tear_down() noexcept;
  bool has_deferred() const noexcept;
  /// Runs up to @p n of the functions run_now_or_post() queued, oldest first.
  void run_later(std::size_t n) noexcept;
  void on_timer();
  void run_due_timers();

  asio::io_context& io_;
  stack_options options_;
  std::uint64_t segments_shed_ = 0, writes_held_ = 0, ooseq_pruned_ = 0, received_compacted_ = 0;
  std::uint32_t last_prune_ms_ = 0;
  bool prune_done_ = false;  // in this episode over the limit
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  std::chrono::steady_clock::time_point timer_due_{};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::uint64_t manual_now_ns_ = 0;
  std::unique_ptr<tcp_tracer> tracer_;
  std::uint64_t timer_runs_ = 0;
  std::uint64_t listen_drops_at_start_ = 0;  // the port's process-wide count when this stack began
  // The thread that created the stack may call lwIP until the io_context first runs one of our
  // handlers (a handler posted at start-up); from then on, the thread that runs the io_context.
  mutable std::atomic<std::thread::id> owner_{std::this_thread::get_id()};
  mutable std::recursive_mutex handover_;
  mutable std::atomic<bool> handled_{false};  // a handler of ours ran (owner_ is the io thread)
  std::vector<std::shared_ptr<interface>> interfaces_;  // index = interface_id; null when removed
  std::unordered_set<stack_object*> objects_;
  bool started_lwip_ = false;

  struct deferred_line {
    log_level level;
    std::string text;
  };
  using deferred = std::variant<deferred_line, trace_event>;
  void defer(deferred&& item) const;
  // What log() and trace() queued. Guarded by its own mutex, never held while a sink runs: a
  // line may be queued from another thread (a teardown, a caller while the io_context is
  // stopped) while the stack's thread delivers.
  mutable std::mutex deferred_mutex_;
  mutable std::vector<deferred> deferred_;
  mutable bool delivery_posted_ = false;
  // Held while the sinks run, so that two threads (the stack's, and one tearing the stack down
  // after io_context::stop()) never run them at once.
  mutable std::mutex delivery_mutex_;

  std::mutex later_mutex_;  // guards later_: other threads queue, the stack's thread runs
  std::deque<std::function<void()>> later_;
};

}  // namespace tunstack::detail

#endif  // TUNSTACK_DETAIL_STACK_IMPL_HPP
