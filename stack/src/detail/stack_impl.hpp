// detail/stack_impl.hpp - the state behind tunstack::stack: lwIP's lifetime, its clock and
// timer, the interfaces, logging. Private to the stack library.
#ifndef TUNSTACK_DETAIL_STACK_IMPL_HPP
#define TUNSTACK_DETAIL_STACK_IMPL_HPP

#include "tunstack/stack.hpp"

#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace tunstack::detail {

class interface;

class stack_impl : public std::enable_shared_from_this<stack_impl> {
 public:
  stack_impl(asio::io_context& io, stack_options options);
  ~stack_impl();

  /// lwip_init() and the first timer; separate from the constructor because the timer's
  /// handler needs weak_from_this().
  void start();
  /// Frees everything lwIP holds and lets the next stack initialise lwIP afresh.
  void shutdown() noexcept;

  asio::io_context& io() noexcept { return io_; }
  const stack_options& options() const noexcept { return options_; }

  /// True on the thread that may call lwIP (see stack::running_in_this_thread).
  bool on_stack_thread() const noexcept;
  /// Notes that a handler of ours runs on the io_context's thread: it becomes the stack's thread.
  void enter_handler() noexcept { owner_ = std::this_thread::get_id(); }

  std::uint32_t now_ms() const noexcept;
  /// Re-arms the timer to lwIP's next deadline. Call after anything that may add lwIP timers:
  /// every input batch and every API call.
  void schedule_timers();
  void advance_time(std::chrono::milliseconds d);
  std::optional<std::chrono::milliseconds> next_timer() const;

  bool logs(log_level level) const noexcept {
    return options_.log && level <= options_.log_max;
  }
  void log(log_level level, const std::string& line) const {
    if (logs(level)) options_.log(level, line);
  }

  interface_id add_interface(netif::link& link, const interface_config& config);
  void remove_interface(interface_id id);
  stack_stats stats() const;

 private:
  void on_timer();
  void run_due_timers();

  asio::io_context& io_;
  stack_options options_;
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  std::chrono::steady_clock::time_point timer_due_{};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::uint32_t manual_now_ = 0;
  std::uint64_t timer_runs_ = 0;
  std::thread::id owner_ = std::this_thread::get_id();
  std::vector<std::shared_ptr<interface>> interfaces_;  // index = interface_id; null when removed
  bool started_lwip_ = false;
};

}  // namespace tunstack::detail

#endif  // TUNSTACK_DETAIL_STACK_IMPL_HPP
