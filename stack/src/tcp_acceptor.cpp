// tcp_acceptor.cpp - tunstack::tcp::acceptor on lwIP's listening pcbs.
//
// lwIP completes the three-way handshake itself and calls `accept` with the new pcb. If an
// async_accept is waiting, it gets the connection at once; otherwise the connection waits in
// our queue. When that queue holds `backlog` connections, the listener drops further SYNs
// until one is handed out, as Linux drops SYNs on a full accept queue.
//
// lwIP's own backlog counts half-open connections (SYN-RECEIVED) too, in a u8_t: with it as
// the accept queue's limit, a burst of more than 255 SYNs (bench/run opens 10,000 connections
// at once) had most of them dropped and retried after 1 s, 3 s, ... So lwIP's backlog only
// bounds half-open connections (255), and the accept queue is bounded here: when it is full,
// lwIP's backlog is set to 0, which makes lwIP drop every SYN on this listener.
#include "detail/error.hpp"
#include "detail/lwip_address.hpp"
#include "detail/on_stack.hpp"
#include "detail/stack_impl.hpp"
#include "detail/tcp_connection.hpp"
#include "tunstack/stack.hpp"
#include "tunstack/tcp.hpp"

#include "lwip/tcp.h"

#include <asio/error.hpp>

#include <algorithm>
#include <deque>

namespace tunstack {
namespace detail {

class tcp_listener final : public std::enable_shared_from_this<tcp_listener>, public stack_object {
 public:
  tcp_listener(stack_impl& stack, asio::any_io_executor executor, const tcp::endpoint& local, int backlog)
      : stack_(stack), executor_(std::move(executor)), backlog_(static_cast<std::size_t>(std::clamp(backlog, 1, 65535))) {
    tcp_pcb* pcb = tcp_new_ip_type(pcb_type(local.address()));
    if (pcb == nullptr) throw std::system_error(asio::error::no_buffer_space, "tunstack::tcp::acceptor");
    // Like a restarted kernel server: a port left in TIME-WAIT by earlier connections is free.
    ip_set_option(pcb, SOF_REUSEADDR);
    const ip_addr_t address = bind_address(local.address());
    if (const err_t err = tcp_bind(pcb, &address, local.port()); err != ERR_OK) {
      tcp_close(pcb);
      throw std::system_error(to_error_code(err), "tunstack::tcp::acceptor: cannot bind " + describe(local));
    }
    err_t err = ERR_OK;
    tcp_pcb* listening = tcp_listen_with_backlog_and_err(pcb, half_open_limit, &err);
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
      if (ready_.size() < backlog_) set_syn_gate(true);
      return handler.complete({}, tcp::socket(std::move(c), executor_));
    }
    const std::uint64_t generation = ++accept_generation_;
    accept_ = std::move(handler);
    accept_.on_cancel([weak = weak_from_this(), generation](asio::cancellation_type) {
      if (auto self = weak.lock(); self && !self->gone_) {
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

  /// A socket that is not open, for failed accepts.
  static tcp::socket null_socket(asio::any_io_executor ex) { return tcp::socket(nullptr, std::move(ex)); }

  void on_stack_shutdown() noexcept override {
    if (pcb_ != nullptr) {
      tcp_arg(pcb_, nullptr);
      tcp_accept(pcb_, nullptr);
      pcb_ = nullptr;  // the stack closes it
    }
    ready_.clear();  // the connections got their own notice
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

  err_t accepted(tcp_pcb* pcb) {
    auto c = std::make_shared<tcp_connection>(stack_, pcb);
    if (accept_) {
      accept_.complete({}, tcp::socket(std::move(c), executor_));
    } else {
      ready_.push_back(std::move(c));
      if (ready_.size() >= backlog_) set_syn_gate(false);
    }
    return ERR_OK;
  }

  // Open: lwIP takes SYNs while fewer than half_open_limit connections are half-open. Closed:
  // a backlog of 0 makes lwIP drop every SYN (tcp_listen_input: accepts_pending >= backlog).
  void set_syn_gate(bool open) noexcept {
    if (pcb_ == nullptr) return;
    reinterpret_cast<tcp_pcb_listen*>(pcb_)->backlog = open ? half_open_limit : 0;
  }

  static constexpr u8_t half_open_limit = 255;  // lwIP keeps the backlog in a u8_t

  stack_impl& stack_;
  asio::any_io_executor executor_;
  tcp_pcb* pcb_ = nullptr;
  bool open_ = true;
  bool gone_ = false;
  std::size_t backlog_;  // connections that may wait in ready_
  std::deque<std::shared_ptr<tcp_connection>> ready_;
  completion<std::error_code, tcp::socket> accept_;
  std::uint64_t accept_generation_ = 0;
};

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

tcp::acceptor::acceptor(stack& s, const endpoint_type& local, int backlog) : executor_(s.get_executor()) {
  impl_ = s.impl().invoke(
      [&] { return std::make_shared<detail::tcp_listener>(s.impl(), executor_, local, backlog); });
}

tcp::acceptor::acceptor(const executor_type& ex, const endpoint_type& local, bool /*reuse_address*/)
    : acceptor(stack::for_executor(ex), local) {}

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
  detail::on_stack(impl_, ec, [](detail::tcp_listener& l) { l.cancel(); });
}

tcp::endpoint tcp::acceptor::local_endpoint(std::error_code& ec) const {
  tcp::endpoint e;
  std::error_code result;
  detail::on_stack(impl_, ec, [&](detail::tcp_listener& l) { e = l.local_endpoint(result); });
  if (!ec) ec = result;
  return e;
}

}  // namespace tunstack
