// SPDX-License-Identifier: BSD-3-Clause
// detail/tcp_connection.hpp - the state behind a tcp::socket: lwIP's pcb, the received data
// not yet read, and the parked read, write and connect operations. lwIP's callbacks reach it
// through tcp_arg (never the socket handle, which can move); the socket owns it through a
// shared_ptr, so it also survives lwIP freeing the pcb on its own (RST, timeout).
#ifndef TUNSTACK_DETAIL_TCP_CONNECTION_HPP
#define TUNSTACK_DETAIL_TCP_CONNECTION_HPP

#include "detail/stack_impl.hpp"
#include "tunstack/detail/operation.hpp"
#include "tunstack/tcp.hpp"

#include "lwip/tcp.h"

#include <atomic>
#include <cstddef>
#include <span>
#include <vector>
#include <memory>
#include <optional>
#include <system_error>

namespace tunstack::detail {

/// A FIFO of received pbufs. A vector and a read index rather than std::deque, whose empty
/// state already holds a 512-byte block: this costs nothing until data arrives and one small
/// array afterwards (10,000 idle connections, 5 MB less).
class pbuf_fifo {
 public:
  bool empty() const noexcept { return head_ == items_.size(); }
  pbuf* front() const noexcept { return items_[head_]; }
  void push_back(pbuf* p) { items_.push_back(p); }
  void pop_front() noexcept {
    if (++head_ == items_.size()) clear();
  }
  /// The pbufs not taken yet, in order.
  std::span<pbuf* const> pending() const noexcept { return std::span<pbuf* const>(items_).subspan(head_); }
  void clear() noexcept {
    items_.clear();
    if (items_.capacity() > 16) items_.shrink_to_fit();  // an idle connection keeps little
    head_ = 0;
  }

 private:
  std::vector<pbuf*> items_;
  std::size_t head_ = 0;
};

class tcp_connection final : public std::enable_shared_from_this<tcp_connection>, public stack_object {
 public:
  /// Not connected yet (async_connect makes the pcb). May be made on any thread.
  explicit tcp_connection(stack_impl& stack);
  /// Takes over a pcb lwIP accepted (on the stack's thread).
  tcp_connection(stack_impl& stack, tcp_pcb* accepted);
  ~tcp_connection();
  tcp_connection(const tcp_connection&) = delete;
  tcp_connection& operator=(const tcp_connection&) = delete;

  stack_impl& stack() const noexcept { return stack_; }
  bool is_open() const noexcept { return open_; }
  /// True once the stack was destroyed: the connection must not touch it (or lwIP) again. A
  /// connection that never held lwIP state is not in the stack's object list, so is never told:
  /// for it, the stack's lifetime says it.
  bool gone() const noexcept { return gone_ || life_.expired(); }

  // Operations; each runs on the stack's thread and completes by posting.
  void start_connect(const tcp::endpoint& peer, completion<std::error_code> handler);
  /// The local endpoint the next connect binds to.
  void bind(const tcp::endpoint& local, std::error_code& ec);
  void start_read(mutable_buffers buffers, completion<std::error_code, std::size_t> handler);
  void start_write(const_buffers buffers, completion<std::error_code, std::size_t> handler);
  void start_wait(asio::socket_base::wait_type what, completion<std::error_code> handler);
  /// Bytes received and not read yet.
  std::size_t available() const noexcept { return received_bytes_; }
  void shutdown(asio::socket_base::shutdown_type what, std::error_code& ec);
  void close() noexcept;
  /// Closes with a reset (RST), e.g. for connections a closing listener never handed out.
  void abort() noexcept;
  void cancel() noexcept;
  /// Abandons a connect in progress (per-operation cancellation of async_connect).
  void cancel_connect() noexcept;
  tcp::endpoint local_endpoint(std::error_code& ec) const;
  tcp::endpoint remote_endpoint(std::error_code& ec) const;

  void set_no_delay(bool on);
  bool no_delay() const noexcept { return no_delay_; }
  void set_keep_alive(bool on);
  bool keep_alive() const noexcept { return keep_alive_; }
  /// Each returns false (and changes nothing) if idle + count * interval would not fit lwIP's
  /// 32-bit millisecond arithmetic.
  bool set_keep_alive_idle(std::uint32_t ms);
  bool set_keep_alive_interval(std::uint32_t ms);
  bool set_keep_alive_count(std::uint32_t n);
  std::uint32_t keep_alive_idle() const noexcept { return keep_idle_ms_; }
  std::uint32_t keep_alive_interval() const noexcept { return keep_interval_ms_; }
  std::uint32_t keep_alive_count() const noexcept { return keep_count_; }

  /// For the listener: the pcb while lwIP still has it (to update its backlog accounting).
  tcp_pcb* pcb() const noexcept { return pcb_; }

  void on_stack_shutdown() noexcept override;

 private:
  // lwIP's callbacks (static trampolines in tcp_socket.cpp forward here).
  friend struct tcp_callbacks;
  err_t on_recv(pbuf* p, err_t err);
  pbuf* compact(pbuf* p) noexcept;
  err_t on_sent(u16_t len);
  void on_error(err_t err);
  err_t on_connected(err_t err);
  err_t on_poll();

  void attach(tcp_pcb* pcb);
  tcp_pcb* detach() noexcept;
  void apply_options();
  void try_read();
  void try_write();
  bool ready_for(asio::socket_base::wait_type what) const noexcept;
  void complete_ready_waits();
  void fail_waits(std::error_code ec) noexcept;
  std::size_t copy_received(const mutable_buffers& buffers);
  void acknowledge(std::size_t n);
  void drop_received() noexcept;
  void fail_all(std::error_code ec) noexcept;
  void start_afresh() noexcept;
  void register_with_stack();
  void unregister() noexcept;
  template <class Op>
  void abort_on_cancel(std::optional<Op> tcp_connection::*slot, std::uint64_t tcp_connection::*generation);

  stack_impl& stack_;
  std::weak_ptr<stack_impl> life_;  // expires with the stack (see gone())
  tcp_pcb* pcb_ = nullptr;
  bool registered_ = false;    // in the stack's object list (until closed or the stack is gone)
  // Written on the stack's thread (or by the stack's teardown), read from any thread: an
  // operation started from another thread, is_open(), a cancellation signal.
  std::atomic<bool> gone_{false};  // the stack was destroyed
  std::atomic<bool> open_{true};   // until close()
  bool connecting_ = false;
  bool fin_received_ = false;  // the peer closed its side; everything before it is in received_
  bool shut_send_ = false;
  bool shut_receive_ = false;
  std::error_code error_;      // why the connection ended, once lwIP freed the pcb
  // The endpoints, kept when the pcb is handed back to lwIP after both sides closed.
  std::optional<tcp::endpoint> local_, remote_;

  // Received data not read yet: single pbufs (chains are split on arrival), the first one
  // partly consumed up to received_offset_.
  pbuf_fifo received_;
  std::size_t received_offset_ = 0;
  std::size_t received_bytes_ = 0;  // in received_, not read yet
  std::uint64_t read_generation_ = 0;   // tells a late cancellation from the current operation
  std::uint64_t write_generation_ = 0;

  struct pending_read {
    mutable_buffers buffers;
    completion<std::error_code, std::size_t> handler;
  };
  struct pending_write {
    const_buffers buffers;
    completion<std::error_code, std::size_t> handler;
  };
  std::optional<pending_read> read_;
  std::optional<pending_write> write_;
  completion<std::error_code> connect_;
  struct pending_wait {
    asio::socket_base::wait_type what;
    std::uint64_t id;  // tells a late cancellation from a later wait
    completion<std::error_code> handler;
  };
  std::vector<pending_wait> waits_;
  std::uint64_t wait_ids_ = 0;

  bool no_delay_ = false;
  bool keep_alive_ = false;
  std::uint32_t keep_idle_ms_ = 7'200'000;
  std::uint32_t keep_interval_ms_ = 75'000;
  std::uint32_t keep_count_ = 9;
  std::optional<tcp::endpoint> bind_to_;
};

}  // namespace tunstack::detail

#endif  // TUNSTACK_DETAIL_TCP_CONNECTION_HPP
