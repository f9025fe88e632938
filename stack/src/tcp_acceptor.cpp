// SPDX-License-Identifier: BSD-3-Clause
// tcp_acceptor.cpp - tunstack::tcp::acceptor on lwIP's listening pcbs.
//
// lwIP completes the three-way handshake itself and calls `accept` with the new pcb. If an
// async_accept is waiting, it gets the connection at once; otherwise the connection waits in
// our queue, ready_. Two limits, as in Linux: lwIP's backlog counter (a u8, so at most 255)
// bounds only the half-open connections (SYN-RECEIVED), like Linux's SYN queue; ready_, like
// Linux's accept queue, holds up to the acceptor's backlog (asio's default: 4096). When ready_
// is full, lwIP's backlog is set to 0, which makes it drop every SYN, until a connection is
// handed out, as Linux drops SYNs on a full accept queue.
//
// Counting the waiting connections in lwIP's u8 as well (tcp_backlog_delayed) capped the
// accept queue at 255 whatever the backlog, and a burst of connects overran it: an accept
// loop takes one connection per pass of the event loop while one batch of received packets
// completes up to 64 handshakes, so SYNs were dropped silently (see tcp_test.cpp).
//
// The half-open connections may also exceed 255, up to the acceptor's backlog, as Linux keeps
// up to tcp_max_syn_backlog: 10,000 connects at once put 10,000 SYNs in the TUN queue before
// any handshake's ACK, and lwIP dropped all but 255. When a SYN finds lwIP's count full (an
// lwIP hook asks, tcp_listener_make_room), the listener takes one half-open connection out of
// lwIP's count (clears its TF_BACKLOGPEND, so lwIP will not count it down either) into its
// own, transferred_, which the connection leaves when it is accepted; one that dies half-open
// (RST, lwIP's 20 s SYN-RECEIVED timeout) is found missing by a scan when the limit is reached.
#include "detail/error.hpp"
#include "detail/lwip_address.hpp"
#include "detail/on_stack.hpp"
#include "detail/stack_impl.hpp"
#include "detail/tcp_connection.hpp"
#include "tunstack/stack.hpp"
#include "tunstack/tcp.hpp"

#include "lwip/priv/tcp_priv.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"

#include <asio/error.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <unordered_set>

namespace tunstack {
namespace detail {

class tcp_listener final : public std::enable_shared_from_this<tcp_listener>, public stack_object {
 public:
  tcp_listener(stack_impl& stack, asio::any_io_executor executor, const tcp::endpoint& local, int backlog)
      : stack_(stack), executor_(std::move(executor)) {
    tcp_pcb* pcb = tcp_new_ip_type(pcb_type(local.address()));
    if (pcb == nullptr) throw std::system_error(asio::error::no_buffer_space, "tunstack::tcp::acceptor");
    // Like a restarted kernel server: a port left in TIME-WAIT by earlier connections is free.
    ip_set_option(pcb, SOF_REUSEADDR);
    const ip_addr_t address = bind_address(local.address());
    if (const err_t err = tcp_bind(pcb, &address, local.port()); err != ERR_OK) {
      tcp_close(pcb);
      throw std::system_error(to_error_code(err), "tunstack::tcp::acceptor: cannot bind " + describe(local));
    }
    // lwIP keeps its backlog (here: the half-open connections) in a u8_t; beyond it, make_room.
    half_open_limit_ = static_cast<u8_t>(std::clamp(backlog, 1, 255));
    queue_limit_ = static_cast<std::size_t>(std::max(backlog, 1));
    half_open_max_ = std::max<std::size_t>(queue_limit_, half_open_limit_);
    err_t err = ERR_OK;
    tcp_pcb* listening = tcp_listen_with_backlog_and_err(pcb, half_open_limit_, &err);
    if (listening == nullptr) {
      tcp_close(pcb);
      throw std::system_error(to_error_code(err), "tunstack::tcp::acceptor: cannot listen on " + describe(local));
    }
    pcb_ = listening;
    tcp_arg(pcb_, this);
    tcp_accept(pcb_, &tcp_listener::on_accept);
    stack_.add_object(this);
    stack_.trace_scan();  // a trace shows the listener from now on
  }

  ~tcp_listener() {
    if (!gone_ && open_) close();
  }

  stack_impl& stack() const noexcept { return stack_; }
  bool gone() const noexcept { return gone_; }
  bool is_open() const noexcept { return open_; }

  void start_accept(completion<std::error_code, tcp::socket> handler) {
    if (!open_) return handler.complete(asio::error::bad_descriptor, tcp::socket(nullptr, executor_));
    if (accept_) return handler.complete(asio::error::already_started, tcp::socket(nullptr, executor_));
    if (!ready_.empty()) {
      auto c = std::move(ready_.front());
      ready_.pop_front();
      if (ready_.size() < queue_limit_) set_lwip_backlog(half_open_limit_);  // room again: take SYNs
      return handler.complete({}, tcp::socket(std::move(c), executor_));
    }
    const std::uint64_t generation = ++accept_generation_;
    accept_ = std::move(handler);
    accept_.on_cancel([weak = weak_from_this(), generation](asio::cancellation_type) {
      if (auto self = weak.lock(); self && !self->gone()) {
        self->stack_.run_or_post([self, generation] {
          if (self->accept_ && self->accept_generation_ == generation) self->cancel();
        });
      }
    });
  }

  void cancel() noexcept {
    if (accept_) accept_.complete(asio::error::operation_aborted, tcp::socket(nullptr, executor_));
  }

  void close() noexcept {
    if (!open_ || gone_) return;
    open_ = false;
    cancel();
    if (pcb_ != nullptr) {
      tcp_arg(pcb_, nullptr);
      tcp_accept(pcb_, nullptr);
      tcp_close(std::exchange(pcb_, nullptr));  // a listening pcb always closes at once
    }
    // Connections nobody accepted are reset, as the kernel does when a listener closes.
    for (auto& c : ready_) c->abort();
    ready_.clear();
    transferred_.clear();
    stack_.remove_object(this);
  }

  tcp::endpoint local_endpoint(std::error_code& ec) const {
    ec = {};
    if (!open_ || pcb_ == nullptr) {
      ec = asio::error::bad_descriptor;
      return {};
    }
    // A dual-stack listener (bound to IP_ANY_TYPE) reports the unspecified IPv6 address.
    if (IP_IS_ANY_TYPE_VAL(pcb_->local_ip)) return {asio::ip::address_v6::any(), pcb_->local_port};
    return {from_lwip(pcb_->local_ip), pcb_->local_port};
  }

  /// See the file's comment: takes one half-open connection out of lwIP's count, if the
  /// acceptor's limit allows, so that lwIP takes the SYN that found its count full.
  bool make_room() noexcept {
    auto* listener = reinterpret_cast<tcp_pcb_listen*>(pcb_);
    if (listener == nullptr || listener->backlog == 0) return false;  // closed, or the queue is full
    if (listener->accepts_pending + transferred_.size() >= half_open_max_ && !forget_dead()) return false;
    for (tcp_pcb* p = tcp_active_pcbs; p != nullptr; p = p->next) {  // the newest come first
      if (p->listener == listener && p->state == SYN_RCVD && (p->flags & TF_BACKLOGPEND) != 0) {
        tcp_clear_flags(p, TF_BACKLOGPEND);
        --listener->accepts_pending;
        transferred_.insert(p);
        return true;
      }
    }
    return false;
  }

  /// A socket that is not open, for failed accepts.
  static tcp::socket null_socket(asio::any_io_executor ex) { return tcp::socket(nullptr, std::move(ex)); }

  void on_stack_shutdown() noexcept override {
    if (pcb_ != nullptr) {
      tcp_arg(pcb_, nullptr);
      tcp_accept(pcb_, nullptr);
      pcb_ = nullptr;  // the stack closes it
    }
    ready_.clear();  // the connections got their own notice
    transferred_.clear();
    if (accept_) accept_.complete(asio::error::connection_aborted, tcp::socket(nullptr, executor_));
    gone_ = true;
  }

 private:
  static std::string describe(const tcp::endpoint& e) {
    return (e.address().is_v6() ? "[" + e.address().to_string() + "]" : e.address().to_string()) + ":" +
           std::to_string(e.port());
  }

  static err_t on_accept(void* arg, tcp_pcb* pcb, err_t err) noexcept {
    if (arg == nullptr || pcb == nullptr || err != ERR_OK) return ERR_VAL;  // lwIP aborts pcb
    return static_cast<tcp_listener*>(arg)->accepted(pcb);
  }

  // Drops from transferred_ the connections that died half-open; false if none did (or the
  // last look was less than 100 ms ago: a SYN flood must not cost a scan per SYN).
  bool forget_dead() noexcept {
    const std::uint32_t now = sys_now();
    if (now - last_forget_ms_ < 100) return false;
    last_forget_ms_ = now;
    std::unordered_set<const tcp_pcb*> alive;
    for (tcp_pcb* p = tcp_active_pcbs; p != nullptr; p = p->next) {
      if (p->state == SYN_RCVD && transferred_.count(p) != 0) alive.insert(p);
    }
    const std::size_t before = transferred_.size();
    std::erase_if(transferred_, [&](const tcp_pcb* p) { return alive.count(p) == 0; });
    return transferred_.size() < before;
  }

  err_t accepted(tcp_pcb* pcb) {
    transferred_.erase(pcb);  // established: no longer half-open
    auto c = std::make_shared<tcp_connection>(stack_, pcb);
    if (accept_) {
      accept_.complete({}, tcp::socket(std::move(c), executor_));
    } else {
      // Handshakes already under way when the queue filled still complete and queue here, so
      // ready_ may exceed queue_limit_ by at most the half-open limit.
      ready_.push_back(std::move(c));
      if (ready_.size() >= queue_limit_) set_lwip_backlog(0);  // full: drop SYNs
    }
    return ERR_OK;
  }

  // lwIP drops a SYN when `accepts_pending >= backlog` (tcp_listen_input in tcp_in.c), so 0
  // drops them all. tcp_backlog_set() would turn 0 into 1, hence the field itself: pcb_ is the
  // tcp_pcb_listen that tcp_listen_with_backlog_and_err() returned.
  void set_lwip_backlog(u8_t n) noexcept {
    if (pcb_ != nullptr) reinterpret_cast<tcp_pcb_listen*>(pcb_)->backlog = n;
  }

  stack_impl& stack_;
  asio::any_io_executor executor_;
  tcp_pcb* pcb_ = nullptr;
  // Written on the stack's thread (or by its teardown), read from any thread (see tcp_connection).
  std::atomic<bool> open_{true};
  std::atomic<bool> gone_{false};
  std::deque<std::shared_ptr<tcp_connection>> ready_;  // handshake done, not handed out yet
  std::size_t queue_limit_ = 1;                         // ready_'s size that closes the gate
  u8_t half_open_limit_ = 1;                            // lwIP's backlog while the gate is open
  std::size_t half_open_max_ = 1;                       // half-open connections, lwIP's and ours
  std::unordered_set<const tcp_pcb*> transferred_;      // half-open, taken out of lwIP's count
  std::uint32_t last_forget_ms_ = 0;
  completion<std::error_code, tcp::socket> accept_;
  std::uint64_t accept_generation_ = 0;
};

bool tcp_listener_make_room(tcp_pcb* listener) noexcept {
  auto* l = listener != nullptr ? static_cast<tcp_listener*>(listener->callback_arg) : nullptr;
  return l != nullptr && l->make_room();
}

void tcp_start_accept(const std::shared_ptr<tcp_listener>& l, completion<std::error_code, tcp::socket> handler) {
  if (!l || l->gone()) {
    // No listener (moved from) or no stack: there is no executor of ours to make a socket with
    // other than the handler's, so report without one.
    return handler.complete(l ? std::error_code{asio::error::connection_aborted} : std::error_code{asio::error::bad_descriptor},
                            tcp_listener::null_socket(asio::any_io_executor{}));
  }
  l->stack().run_or_post([l, h = std::move(handler)]() mutable {
    if (l->gone()) return h.complete(asio::error::connection_aborted, tcp_listener::null_socket(asio::any_io_executor{}));
    l->start_accept(std::move(h));
  });
}

}  // namespace detail

tcp::acceptor::acceptor(stack& s, const endpoint_type& local, int backlog)
    : acceptor(s, s.get_executor(), local, backlog) {}

// Accepted sockets and handlers without an executor of their own use @p ex (a strand, say).
tcp::acceptor::acceptor(const executor_type& ex, const endpoint_type& local, bool /*reuse_address*/)
    : acceptor(stack::for_executor(ex), ex, local, asio::socket_base::max_listen_connections) {}

tcp::acceptor::acceptor(stack& s, const executor_type& ex, const endpoint_type& local, int backlog)
    : executor_(ex) {
  impl_ = s.impl().invoke(
      [&] { return std::make_shared<detail::tcp_listener>(s.impl(), executor_, local, backlog); });
}

tcp::acceptor::acceptor(acceptor&& other) noexcept
    : impl_(std::move(other.impl_)), executor_(other.executor_) {}

tcp::acceptor& tcp::acceptor::operator=(acceptor&& other) noexcept {
  if (this != &other) {
    std::error_code ignored;
    close(ignored);
    impl_ = std::move(other.impl_);
    executor_ = other.executor_;
  }
  return *this;
}

tcp::acceptor::~acceptor() {
  std::error_code ignored;
  close(ignored);
}

bool tcp::acceptor::is_open() const noexcept { return impl_ && !impl_->gone() && impl_->is_open(); }

tcp::socket tcp::acceptor::accept(std::error_code& ec) {
  if (!detail::may_block(executor_, ec)) return tcp::socket(nullptr, executor_);
  std::promise<std::pair<std::error_code, tcp::socket>> done;
  auto result = done.get_future();
  async_accept([&done](std::error_code e, tcp::socket s) { done.set_value({e, std::move(s)}); });
  auto [e, s] = result.get();
  ec = e;
  return std::move(s);
}

void tcp::acceptor::close(std::error_code& ec) {
  ec = {};
  detail::close_on_stack(impl_);
}

void tcp::acceptor::cancel(std::error_code& ec) {
  detail::on_stack_later(impl_, ec, [](detail::tcp_listener& l) { l.cancel(); });  // never waits
}

tcp::endpoint tcp::acceptor::local_endpoint(std::error_code& ec) const {
  tcp::endpoint e;
  std::error_code result;
  detail::on_stack(impl_, ec, [&](detail::tcp_listener& l) { e = l.local_endpoint(result); });
  if (!ec) ec = result;
  return e;
}

}  // namespace tunstack
