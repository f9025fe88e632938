// SPDX-License-Identifier: BSD-3-Clause
// udp_socket.cpp - tunstack::udp::socket on lwIP's raw UDP API. Received datagrams wait in a
// bounded queue (dropped and counted beyond it, like a full SO_RCVBUF) until a receive takes
// one; a datagram larger than the receive buffers is truncated and reported as message_size.
#include "tunstack/udp.hpp"

#include "detail/error.hpp"
#include "detail/lwip_address.hpp"
#include "detail/on_stack.hpp"
#include "detail/stack_impl.hpp"
#include "tunstack/stack.hpp"

#include "lwip/pbuf.h"
#include "lwip/udp.h"

#include <asio/error.hpp>

#include <atomic>
#include <deque>
#include <optional>

namespace tunstack {
namespace detail {

namespace {
// The receive queue's bounds (per socket).
constexpr std::size_t max_queued_datagrams = 512;
constexpr std::size_t max_queued_bytes = 4 * 1024 * 1024;
// The largest UDP payload over IPv4: 65535 - 8 (UDP header) - 20 (IPv4 header).
constexpr std::size_t max_payload_v4 = 65507;
// IPv6 would allow 65527, but lwIP's pbufs count lengths in 16 bits, IPv6 header included:
// 65535 - 40 - 8.
constexpr std::size_t max_payload_v6 = 65487;
}  // namespace

class udp_endpoint final : public std::enable_shared_from_this<udp_endpoint>, public stack_object {
 public:
  explicit udp_endpoint(stack_impl& stack) : stack_(stack) { stack_.add_object(this); }

  ~udp_endpoint() {
    if (!gone_ && open_) close();
  }

  stack_impl& stack() const noexcept { return stack_; }
  bool gone() const noexcept { return gone_; }
  bool is_open() const noexcept { return open_; }
  std::size_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

  void bind(const udp::endpoint& local, std::error_code& ec) {
    if (!open_) {
      ec = asio::error::bad_descriptor;
      return;
    }
    if (!ensure_pcb(local.address(), ec)) return;
    const ip_addr_t address = bind_address(local.address());
    ec = to_error_code(udp_bind(pcb_, &address, local.port()));
  }

  void connect(const udp::endpoint& peer, std::error_code& ec) {
    if (!open_) {
      ec = asio::error::bad_descriptor;
      return;
    }
    if (!ensure_pcb(peer.address(), ec)) return;
    const ip_addr_t address = to_lwip(peer.address());
    ec = to_error_code(udp_connect(pcb_, &address, peer.port()));
    if (!ec) connected_ = true;
  }

  void start_send(const_buffers buffers, std::optional<udp::endpoint> destination,
                  completion<std::error_code, std::size_t> handler) {
    std::error_code ec;
    if (!open_) return handler.complete(asio::error::bad_descriptor, 0);
    if (!destination && !connected_) return handler.complete(asio::error::not_connected, 0);
    const asio::ip::address family = destination ? destination->address() : from_lwip(pcb_->remote_ip);
    if (!ensure_pcb(family, ec)) return handler.complete(ec, 0);
    const std::size_t size = buffers.total_size();
    if (size > (family.is_v4() ? max_payload_v4 : max_payload_v6)) {
      return handler.complete(asio::error::message_size, 0);
    }
    pbuf* p = pbuf_alloc(PBUF_TRANSPORT, static_cast<u16_t>(size), PBUF_RAM);
    if (p == nullptr) return handler.complete(asio::error::no_buffer_space, 0);
    std::size_t offset = 0;
    for (const asio::const_buffer& b : buffers) {
      pbuf_take_at(p, b.data(), static_cast<u16_t>(b.size()), static_cast<u16_t>(offset));
      offset += b.size();
    }
    err_t err;
    if (destination) {
      const ip_addr_t address = to_lwip(destination->address());
      err = udp_sendto(pcb_, p, &address, destination->port());
    } else {
      err = udp_send(pcb_, p);
    }
    pbuf_free(p);  // udp_send* never takes ownership
    handler.complete(to_error_code(err), err == ERR_OK ? size : 0);
  }

  void start_receive(mutable_buffers buffers, udp::endpoint* sender,
                     completion<std::error_code, std::size_t> handler) {
    if (!open_) return handler.complete(asio::error::bad_descriptor, 0);
    if (receive_) return handler.complete(asio::error::already_started, 0);
    if (pcb_ == nullptr) return handler.complete(asio::error::not_connected, 0);  // never bound
    const std::uint64_t generation = ++receive_generation_;
    receive_.emplace(pending_receive{std::move(buffers), sender, std::move(handler)});
    receive_->handler.on_cancel([weak = weak_from_this(), generation](asio::cancellation_type) {
      if (auto self = weak.lock(); self && !self->gone()) {
        self->stack_.run_or_post([self, generation] {
          if (self->receive_ && self->receive_generation_ == generation) self->cancel();
        });
      }
    });
    deliver();
  }

  void cancel() noexcept {
    if (receive_) {
      auto op = std::move(*receive_);
      receive_.reset();
      op.handler.complete(asio::error::operation_aborted, 0);
    }
  }

  void close() noexcept {
    if (!open_ || gone_) return;
    open_ = false;
    cancel();
    if (pcb_ != nullptr) {
      udp_recv(pcb_, nullptr, nullptr);
      udp_remove(std::exchange(pcb_, nullptr));
    }
    drop_queue();
    stack_.remove_object(this);
  }

  udp::endpoint local_endpoint(std::error_code& ec) const {
    ec = {};
    if (!open_) {
      ec = asio::error::bad_descriptor;
      return {};
    }
    if (pcb_ == nullptr) return {};
    if (IP_IS_ANY_TYPE_VAL(pcb_->local_ip)) return {asio::ip::address_v6::any(), pcb_->local_port};
    return {from_lwip(pcb_->local_ip), pcb_->local_port};
  }

  void on_stack_shutdown() noexcept override {
    if (pcb_ != nullptr) {
      udp_recv(pcb_, nullptr, nullptr);
      pcb_ = nullptr;  // the stack removes it
    }
    drop_queue();
    if (receive_) {
      auto op = std::move(*receive_);
      receive_.reset();
      op.handler.complete(asio::error::connection_aborted, 0);
    }
    gone_ = true;
  }

 private:
  struct datagram {
    pbuf* p;
    udp::endpoint from;
  };
  struct pending_receive {
    mutable_buffers buffers;
    udp::endpoint* sender;
    completion<std::error_code, std::size_t> handler;
  };

  // Makes the pcb on first use, for the family of @p address (dual-stack for "::").
  bool ensure_pcb(const asio::ip::address& address, std::error_code& ec) {
    if (pcb_ != nullptr) return true;
    pcb_ = udp_new_ip_type(pcb_type(address));
    if (pcb_ == nullptr) {
      ec = asio::error::no_buffer_space;
      return false;
    }
    udp_recv(pcb_, &udp_endpoint::on_recv, this);
    return true;
  }

  static void on_recv(void* arg, udp_pcb*, pbuf* p, const ip_addr_t* address, u16_t port) noexcept {
    static_cast<udp_endpoint*>(arg)->received(p, udp::endpoint{from_lwip(*address), port});
  }

  void received(pbuf* p, udp::endpoint from) {
    if (queue_.size() >= max_queued_datagrams || queued_bytes_ + p->tot_len > max_queued_bytes) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      pbuf_free(p);
      return;
    }
    queued_bytes_ += p->tot_len;
    queue_.push_back({p, from});
    deliver();
  }

  void deliver() {
    if (!receive_ || queue_.empty()) return;
    datagram d = queue_.front();
    queue_.pop_front();
    queued_bytes_ -= d.p->tot_len;
    auto op = std::move(*receive_);
    receive_.reset();
    std::size_t copied = 0;
    for (const asio::mutable_buffer& b : op.buffers) {
      if (copied >= d.p->tot_len) break;
      copied += pbuf_copy_partial(d.p, b.data(), static_cast<u16_t>(std::min<std::size_t>(b.size(), 0xFFFF)),
                                  static_cast<u16_t>(copied));
    }
    const bool truncated = copied < d.p->tot_len;
    pbuf_free(d.p);
    if (op.sender != nullptr) *op.sender = d.from;
    op.handler.complete(truncated ? std::error_code{asio::error::message_size} : std::error_code{}, copied);
  }

  void drop_queue() noexcept {
    for (auto& d : queue_) pbuf_free(d.p);
    queue_.clear();
    queued_bytes_ = 0;
  }

  stack_impl& stack_;
  udp_pcb* pcb_ = nullptr;
  // Written on the stack's thread (or by its teardown), read from any thread (see tcp_connection).
  std::atomic<bool> open_{true};
  std::atomic<bool> gone_{false};
  bool connected_ = false;
  std::deque<datagram> queue_;
  std::size_t queued_bytes_ = 0;
  std::atomic<std::size_t> dropped_{0};  // read by dropped() on any thread
  std::optional<pending_receive> receive_;
  std::uint64_t receive_generation_ = 0;
};

void udp_start_send(const std::shared_ptr<udp_endpoint>& u, const_buffers buffers,
                    const udp::endpoint* destination, completion<std::error_code, std::size_t> handler) {
  if (!u) return handler.complete(asio::error::bad_descriptor, 0);
  if (u->gone()) return handler.complete(asio::error::connection_aborted, 0);
  std::optional<udp::endpoint> to;
  if (destination != nullptr) to = *destination;
  u->stack().run_or_post([u, b = std::move(buffers), to, h = std::move(handler)]() mutable {
    if (u->gone()) return h.complete(asio::error::connection_aborted, 0);
    u->start_send(std::move(b), to, std::move(h));
  });
}

void udp_start_receive(const std::shared_ptr<udp_endpoint>& u, mutable_buffers buffers, udp::endpoint* sender,
                       completion<std::error_code, std::size_t> handler) {
  if (!u) return handler.complete(asio::error::bad_descriptor, 0);
  if (u->gone()) return handler.complete(asio::error::connection_aborted, 0);
  u->stack().run_or_post([u, b = std::move(buffers), sender, h = std::move(handler)]() mutable {
    if (u->gone()) return h.complete(asio::error::connection_aborted, 0);
    u->start_receive(std::move(b), sender, std::move(h));
  });
}

}  // namespace detail

udp::socket::socket(stack& s)
    : impl_(s.impl().invoke([&] { return std::make_shared<detail::udp_endpoint>(s.impl()); })),
      executor_(s.get_executor()) {}

udp::socket::socket(stack& s, const endpoint_type& local) : socket(s) { bind(local); }

// @p ex (the stack's io_context's executor or a strand of it) is the socket's executor, as in Asio.
udp::socket::socket(const executor_type& ex) : socket(stack::for_executor(ex)) { executor_ = ex; }

udp::socket::socket(const executor_type& ex, const endpoint_type& local) : socket(ex) { bind(local); }

udp::socket::socket(socket&& other) noexcept : impl_(std::move(other.impl_)), executor_(other.executor_) {}

udp::socket& udp::socket::operator=(socket&& other) noexcept {
  if (this != &other) {
    std::error_code ignored;
    close(ignored);
    impl_ = std::move(other.impl_);
    executor_ = other.executor_;
  }
  return *this;
}

udp::socket::~socket() {
  std::error_code ignored;
  close(ignored);
}

bool udp::socket::is_open() const noexcept { return impl_ && !impl_->gone() && impl_->is_open(); }

void udp::socket::bind(const endpoint_type& local, std::error_code& ec) {
  std::error_code result;
  detail::on_stack(impl_, ec, [&](detail::udp_endpoint& u) { u.bind(local, result); });
  if (!ec) ec = result;
}

void udp::socket::connect(const endpoint_type& peer, std::error_code& ec) {
  std::error_code result;
  detail::on_stack(impl_, ec, [&](detail::udp_endpoint& u) { u.connect(peer, result); });
  if (!ec) ec = result;
}

void udp::socket::close(std::error_code& ec) {
  ec = {};
  detail::close_on_stack(impl_);
}

void udp::socket::cancel(std::error_code& ec) {
  detail::on_stack_later(impl_, ec, [](detail::udp_endpoint& u) { u.cancel(); });  // never waits
}

udp::endpoint udp::socket::local_endpoint(std::error_code& ec) const {
  udp::endpoint e;
  std::error_code result;
  detail::on_stack(impl_, ec, [&](detail::udp_endpoint& u) { e = u.local_endpoint(result); });
  if (!ec) ec = result;
  return e;
}

std::size_t udp::socket::dropped() const noexcept { return impl_ ? impl_->dropped() : 0; }

}  // namespace tunstack
