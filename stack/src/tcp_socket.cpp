// SPDX-License-Identifier: BSD-3-Clause
// tcp_socket.cpp - tunstack::tcp::socket on lwIP's raw TCP API.
//
// lwIP calls back (recv, sent, err, connected, poll) through noexcept trampolines that find the
// tcp_connection via tcp_arg; they only do bookkeeping and post completions, so no user code
// runs inside lwIP's input processing (tcp_input keeps file-level state and is not
// re-entrant). Flow control is real: received data is acknowledged with tcp_recved() only as
// the application reads it. A write hands lwIP as much as its send buffer takes and completes;
// when the buffer is full it waits for the `sent` callback.
#include "detail/tcp_connection.hpp"

#include "detail/error.hpp"
#include "detail/lwip_address.hpp"
#include "detail/on_stack.hpp"
#include "tunstack/stack.hpp"

#include "lwip/priv/tcp_priv.h"

#include <asio/error.hpp>

#include <algorithm>
#include <cstring>

namespace tunstack {
namespace detail {

// lwIP's raw API callbacks. `arg` is the tcp_connection (set in attach(), cleared in detach()).
struct tcp_callbacks {
  static err_t recv(void* arg, tcp_pcb*, pbuf* p, err_t err) noexcept {
    return static_cast<tcp_connection*>(arg)->on_recv(p, err);
  }
  static err_t sent(void* arg, tcp_pcb*, u16_t len) noexcept {
    return static_cast<tcp_connection*>(arg)->on_sent(len);
  }
  static void error(void* arg, err_t err) noexcept { static_cast<tcp_connection*>(arg)->on_error(err); }
  static err_t connected(void* arg, tcp_pcb*, err_t err) noexcept {
    return static_cast<tcp_connection*>(arg)->on_connected(err);
  }
  static err_t poll(void* arg, tcp_pcb*) noexcept { return static_cast<tcp_connection*>(arg)->on_poll(); }
};

namespace {

// tcp_write() and tcp_recved() take 16-bit lengths.
constexpr std::size_t max_chunk = 0xFFFF;
// lwIP polls (tcp_poll) every `interval` coarse timer ticks (TCP_SLOW_INTERVAL, 200 ms); used only as a fallback
// when a write could not queue anything and no ACK (hence no `sent` callback) is to be expected.
constexpr u8_t poll_interval = 1;

}  // namespace

// May run on any thread: nothing here touches the stack. The connection joins the stack's object
// list (on the stack's thread) when it first holds lwIP state, in start_connect().
tcp_connection::tcp_connection(stack_impl& stack) : stack_(stack), life_(stack.weak_from_this()) {}

// Runs on the stack's thread (lwIP's accept callback).
tcp_connection::tcp_connection(stack_impl& stack, tcp_pcb* accepted) : tcp_connection(stack) {
  register_with_stack();
  attach(accepted);
  apply_options();
}

// Sockets close their connection on the stack's thread before letting go of it, so by now there
// is normally nothing left to do here.
tcp_connection::~tcp_connection() {
  if (!gone() && open_) close();
}

void tcp_connection::register_with_stack() {
  if (!registered_) {
    stack_.add_object(this);
    registered_ = true;
  }
}

void tcp_connection::unregister() noexcept {
  if (registered_) {
    stack_.remove_object(this);
    registered_ = false;
  }
}

void tcp_connection::attach(tcp_pcb* pcb) {
  pcb_ = pcb;
  tcp_arg(pcb, this);
  tcp_recv(pcb, &tcp_callbacks::recv);
  tcp_sent(pcb, &tcp_callbacks::sent);
  tcp_err(pcb, &tcp_callbacks::error);
}

// Stops lwIP from calling us about this pcb and returns it (nullptr if lwIP already freed it).
// Without a recv callback lwIP discards further data and finishes the close on its own.
tcp_pcb* tcp_connection::detach() noexcept {
  tcp_pcb* pcb = std::exchange(pcb_, nullptr);
  if (pcb != nullptr) {
    tcp_arg(pcb, nullptr);
    tcp_recv(pcb, nullptr);
    tcp_sent(pcb, nullptr);
    tcp_err(pcb, nullptr);
    tcp_poll(pcb, nullptr, 0);
  }
  return pcb;
}

void tcp_connection::apply_options() {
  if (pcb_ == nullptr) return;
  if (no_delay_) {
    tcp_nagle_disable(pcb_);
  } else {
    tcp_nagle_enable(pcb_);
  }
  if (keep_alive_) {
    ip_set_option(pcb_, SOF_KEEPALIVE);
  } else {
    ip_reset_option(pcb_, SOF_KEEPALIVE);
  }
  pcb_->keep_idle = keep_idle_ms_;
  pcb_->keep_intvl = keep_interval_ms_;
  pcb_->keep_cnt = keep_count_;
}

namespace {

// Takes a pending operation out of its slot and completes it.
template <class Op>
void finish(std::optional<Op>& slot, std::error_code ec, std::size_t n) {
  auto op = std::move(*slot);
  slot.reset();
  op.handler.complete(ec, n);
}

}  // namespace

// Per-operation cancellation: a signal on the operation's slot aborts that operation (and not
// a later one in the same slot: the generation tells them apart).
template <class Op>
void tcp_connection::abort_on_cancel(std::optional<Op> tcp_connection::*slot,
                                     std::uint64_t tcp_connection::*generation) {
  (this->*slot)->handler.on_cancel([weak = weak_from_this(), slot, generation, current = this->*generation](
                                       asio::cancellation_type) {
    if (auto self = weak.lock(); self && !self->gone()) {
      self->stack_.run_or_post([self, slot, generation, current] {
        if ((*self.*slot) && (*self).*generation == current) finish(*self.*slot, asio::error::operation_aborted, 0);
      });
    }
  });
}

// ---- Operations --------------------------------------------------------------------------

void tcp_connection::start_connect(const tcp::endpoint& peer, completion<std::error_code> handler) {
  if (!open_) return handler.complete(asio::error::bad_descriptor);
  if (connecting_ || connect_) return handler.complete(asio::error::already_started);
  if (pcb_ != nullptr) return handler.complete(asio::error::already_connected);
  register_with_stack();  // from now on it holds lwIP state the stack must know of
  tcp_pcb* pcb = tcp_new_ip_type(pcb_type(peer.address()));
  if (pcb == nullptr) return handler.complete(asio::error::no_buffer_space);
  if (bind_to_) {
    const ip_addr_t local = bind_address(bind_to_->address());
    if (!bind_to_->address().is_unspecified() && !is_local_address(local)) {
      tcp_abort(pcb);  // lwIP would bind it and send from an address nobody answers
      return handler.complete(std::make_error_code(std::errc::address_not_available));
    }
    const err_t bound = tcp_bind(pcb, &local, bind_to_->port());
    if (bound != ERR_OK) {
      tcp_abort(pcb);
      return handler.complete(to_error_code(bound));  // ERR_USE: address_in_use
    }
  }
  attach(pcb);
  apply_options();
  start_afresh();
  const ip_addr_t address = to_lwip(peer.address());
  const err_t err = tcp_connect(pcb, &address, peer.port(), &tcp_callbacks::connected);
  if (err != ERR_OK) {
    tcp_pcb* p = detach();
    if (tcp_close(p) != ERR_OK) tcp_abort(p);
    return handler.complete(to_error_code(err));
  }
  connecting_ = true;
  connect_ = std::move(handler);
  connect_.on_cancel([weak = weak_from_this()](asio::cancellation_type) {
    if (auto self = weak.lock(); self && !self->gone()) {
      self->stack_.run_or_post([self] {
        if (!self->gone()) self->cancel_connect();
      });
    }
  });
  stack_.schedule_timers();  // SYN retransmissions need lwIP's TCP timer
}

// A connection that ended (reset, timed out, or closed by both sides) may connect again; nothing
// of the previous one carries over: its unread bytes, its end of stream, its shutdowns, its error.
void tcp_connection::start_afresh() noexcept {
  drop_received();
  fin_received_ = false;
  shut_send_ = false;
  shut_receive_ = false;
  error_ = {};
  local_.reset();
  remote_.reset();
}

void tcp_connection::bind(const tcp::endpoint& local, std::error_code& ec) {
  ec = {};
  if (!open_) ec = asio::error::bad_descriptor;
  else if (pcb_ != nullptr || connecting_) ec = asio::error::already_connected;
  else bind_to_ = local;
}

void tcp_connection::start_read(mutable_buffers buffers, completion<std::error_code, std::size_t> handler) {
  if (read_) return handler.complete(asio::error::already_started, 0);
  if (buffers.total_size() == 0) return handler.complete({}, 0);  // AsyncReadStream: at once
  ++read_generation_;
  read_.emplace(pending_read{std::move(buffers), std::move(handler)});
  abort_on_cancel(&tcp_connection::read_, &tcp_connection::read_generation_);
  try_read();
}

// Completes the pending read if there is data, an end of stream, or an error to report.
// Data queued before a FIN or a reset is delivered first, as the kernel does.
void tcp_connection::try_read() {
  complete_ready_waits();
  if (!read_) return;
  std::error_code ec;
  std::size_t n = 0;
  if (!received_.empty()) {
    n = copy_received(read_->buffers);
  } else if (!open_) {
    ec = asio::error::operation_aborted;
  } else if (fin_received_ || shut_receive_) {
    ec = asio::error::eof;
  } else if (error_) {
    ec = error_;
  } else if (pcb_ == nullptr && !connecting_) {
    ec = asio::error::not_connected;
  } else {
    return;  // wait for data
  }
  finish(read_, ec, n);
}

std::size_t tcp_connection::copy_received(const mutable_buffers& buffers) {
  std::size_t total = 0;
  for (const asio::mutable_buffer& b : buffers) {
    std::size_t offset = 0;
    while (offset < b.size() && !received_.empty()) {
      pbuf* p = received_.front();
      const std::size_t n = std::min<std::size_t>(p->tot_len - received_offset_, b.size() - offset);
      pbuf_copy_partial(p, static_cast<char*>(b.data()) + offset, static_cast<u16_t>(n),
                        static_cast<u16_t>(received_offset_));
      offset += n;
      total += n;
      received_offset_ += n;
      if (received_offset_ == p->tot_len) {
        pbuf_free(p);
        received_.pop_front();
        received_offset_ = 0;
      }
    }
    if (received_.empty()) break;
  }
  received_bytes_ -= total;
  acknowledge(total);
  return total;
}

// Opens the receive window by what the application consumed (lwIP sends a window update once
// the window grew enough to be worth announcing).
void tcp_connection::acknowledge(std::size_t n) {
  if (pcb_ == nullptr) return;
  while (n > 0) {
    const std::size_t chunk = std::min(n, max_chunk);
    tcp_recved(pcb_, static_cast<u16_t>(chunk));
    n -= chunk;
  }
}

void tcp_connection::drop_received() noexcept {
  for (pbuf* p : received_.pending()) pbuf_free(p);
  received_.clear();
  received_offset_ = 0;
  received_bytes_ = 0;
}

void tcp_connection::start_write(const_buffers buffers, completion<std::error_code, std::size_t> handler) {
  if (write_) return handler.complete(asio::error::already_started, 0);
  if (buffers.total_size() == 0) return handler.complete({}, 0);
  if (!open_) return handler.complete(asio::error::bad_descriptor, 0);
  if (shut_send_) return handler.complete(asio::error::broken_pipe, 0);
  if (pcb_ == nullptr) return handler.complete(error_ ? error_ : std::error_code{asio::error::not_connected}, 0);
  ++write_generation_;
  write_.emplace(pending_write{std::move(buffers), std::move(handler)});
  abort_on_cancel(&tcp_connection::write_, &tcp_connection::write_generation_);
  try_write();
}

void tcp_connection::start_wait(asio::socket_base::wait_type what, completion<std::error_code> handler) {
  if (!open_) return handler.complete(asio::error::bad_descriptor);
  const std::uint64_t id = ++wait_ids_;
  waits_.push_back(pending_wait{what, id, std::move(handler)});
  waits_.back().handler.on_cancel([weak = weak_from_this(), id](asio::cancellation_type) {
    if (auto self = weak.lock(); self && !self->gone()) {
      self->stack_.run_or_post([self, id] {
        auto it = std::find_if(self->waits_.begin(), self->waits_.end(), [id](const pending_wait& w) { return w.id == id; });
        if (it == self->waits_.end()) return;  // completed meanwhile
        auto h = std::move(it->handler);
        self->waits_.erase(it);
        h.complete(asio::error::operation_aborted);
      });
    }
  });
  complete_ready_waits();
}

// What a reader, a writer or an error watcher would find now without waiting. A socket that is
// not connected is ready for both (a read or write would fail at once), as poll() reports a
// closed socket's hang-up; a connect in progress is ready for neither.
bool tcp_connection::ready_for(asio::socket_base::wait_type what) const noexcept {
  switch (what) {
    case asio::socket_base::wait_read:
      return !received_.empty() || fin_received_ || shut_receive_ || static_cast<bool>(error_) ||
             (pcb_ == nullptr && !connecting_);
    case asio::socket_base::wait_write:
      if (connecting_) return false;
      if (pcb_ == nullptr || shut_send_) return true;
      return pcb_->snd_buf > 0 && tcp_sndqueuelen(pcb_) < TCP_SND_QUEUELEN;
    case asio::socket_base::wait_error:
      return static_cast<bool>(error_);
  }
  return false;
}

// Called whenever the connection's state may have changed (from try_read and try_write, which
// every lwIP callback and every state change goes through).
void tcp_connection::complete_ready_waits() {
  if (waits_.empty()) return;
  std::vector<completion<std::error_code>> ready;
  std::erase_if(waits_, [&](pending_wait& w) {
    if (!ready_for(w.what)) return false;
    ready.push_back(std::move(w.handler));
    return true;
  });
  for (auto& h : ready) h.complete({});
}

void tcp_connection::fail_waits(std::error_code ec) noexcept {
  auto waits = std::move(waits_);
  waits_.clear();
  for (auto& w : waits) w.handler.complete(ec);
}

// Hands lwIP as much of the pending write as its send buffer and segment queue take, and
// completes the write with that count; with no room, waits for `sent` (or the poll fallback).
void tcp_connection::try_write() {
  complete_ready_waits();
  if (!write_) return;
  if (pcb_ == nullptr) {
    finish(write_, error_ ? error_ : std::error_code{asio::error::not_connected}, 0);
    return;
  }
  // pcb->snd_buf, not tcp_sndbuf(): the macro clamps to 16 bits (TCPWND16), which would cap
  // every write at 64 KiB although TCP_SND_BUF is larger.
  std::size_t room = pcb_->snd_buf;
  if (tcp_sndqueuelen(pcb_) >= TCP_SND_QUEUELEN) room = 0;
  // Above the memory ceiling a connection with more than its floor queued waits (for ACKs, or
  // the poll fallback) until the total is below it again (stack_options::memory_limit).
  if (room > 0 && TCP_SND_BUF - pcb_->snd_buf > stack_impl::memory_share_floor && stack_.over_memory_limit()) {
    room = 0;
    stack_.note_write_held();
  }
  const std::size_t total = write_->buffers.total_size();
  std::size_t written = 0;
  err_t failure = ERR_OK;
  for (const asio::const_buffer& b : write_->buffers) {
    const char* data = static_cast<const char*>(b.data());
    std::size_t left = b.size();
    while (left > 0 && room > 0 && failure == ERR_OK) {
      const std::size_t chunk = std::min({left, room, max_chunk});
      // Copy the bytes (the caller's buffer is free once we complete); MORE: no PSH until the
      // last piece of this write.
      u8_t flags = TCP_WRITE_FLAG_COPY;
      if (written + chunk < total) flags |= TCP_WRITE_FLAG_MORE;
      const err_t err = tcp_write(pcb_, data, static_cast<u16_t>(chunk), flags);
      if (err == ERR_MEM) {
        room = 0;  // queue full (or out of memory): wait for ACKs
      } else if (err != ERR_OK) {
        failure = err;
      } else {
        data += chunk;
        left -= chunk;
        room -= chunk;
        written += chunk;
      }
    }
    if (room == 0 || failure != ERR_OK) break;
  }
  if (written > 0) {
    tcp_output(pcb_);
    stack_.schedule_timers();
    finish(write_, {}, written);
    return;
  }
  if (failure != ERR_OK) {
    finish(write_, to_error_code(failure), 0);
    return;
  }
  // Nothing fit. Normally ACKs for data in flight free room and lwIP calls `sent`. If nothing
  // is in flight (a memory shortage), poll instead so the write cannot hang.
  if (pcb_->unacked == nullptr && pcb_->unsent == nullptr) {
    tcp_poll(pcb_, &tcp_callbacks::poll, poll_interval);
  }
}

void tcp_connection::shutdown(asio::socket_base::shutdown_type what, std::error_code& ec) {
  ec = {};
  if (!open_) {
    ec = asio::error::bad_descriptor;
    return;
  }
  const bool send = what == asio::socket_base::shutdown_send || what == asio::socket_base::shutdown_both;
  const bool receive = what == asio::socket_base::shutdown_receive || what == asio::socket_base::shutdown_both;
  if (pcb_ == nullptr) {
    ec = asio::error::not_connected;
    return;
  }
  if (receive && !shut_receive_) {
    // Later reads report eof; what is queued, and what still arrives, is acknowledged and
    // dropped (lwIP's own receive shutdown would reset the connection on new data instead).
    shut_receive_ = true;
    const std::size_t queued = received_bytes_;
    drop_received();
    acknowledge(queued);
    try_read();
  }
  if (send && !shut_send_) {
    const err_t err = tcp_shutdown(pcb_, 0, 1);  // a FIN after the queued data
    if (err != ERR_OK) {
      ec = to_error_code(err);
      return;
    }
    shut_send_ = true;
    if (write_) {
      finish(write_, asio::error::broken_pipe, 0);
    }
    complete_ready_waits();  // a write would fail at once now
    stack_.schedule_timers();
  }
}

void tcp_connection::fail_all(std::error_code ec) noexcept {
  if (read_) {
    finish(read_, ec, 0);
  }
  if (write_) {
    finish(write_, ec, 0);
  }
  fail_waits(ec);
  if (connect_) connect_.complete(ec);
  connecting_ = false;
}

void tcp_connection::close() noexcept {
  if (!open_ || gone()) return;
  open_ = false;
  fail_all(asio::error::operation_aborted);
  if (tcp_pcb* pcb = detach()) {
    // lwIP resets instead of closing when received data was left unacknowledged (unread), as
    // RFC 1122 4.2.2.13 and Linux do; otherwise it sends FIN and finishes on its own.
    if (tcp_close(pcb) != ERR_OK) tcp_abort(pcb);
    stack_.schedule_timers();
  }
  drop_received();
  unregister();
}

void tcp_connection::abort() noexcept {
  if (!open_ || gone()) return;
  open_ = false;
  fail_all(asio::error::operation_aborted);
  if (tcp_pcb* pcb = detach()) tcp_abort(pcb);  // sends RST
  drop_received();
  unregister();
}

void tcp_connection::cancel() noexcept {
  if (read_) {
    finish(read_, asio::error::operation_aborted, 0);
  }
  if (write_) {
    finish(write_, asio::error::operation_aborted, 0);
  }
  fail_waits(asio::error::operation_aborted);
  cancel_connect();
}

void tcp_connection::cancel_connect() noexcept {
  if (!connecting_) return;
  // Abandon the attempt; the socket can connect again.
  connecting_ = false;
  if (tcp_pcb* pcb = detach()) tcp_abort(pcb);
  if (connect_) connect_.complete(asio::error::operation_aborted);
  // Reads and writes waiting for the connection have nothing to wait for any more.
  try_read();
  try_write();
}

tcp::endpoint tcp_connection::local_endpoint(std::error_code& ec) const {
  ec = {};
  if (!open_) {
    ec = asio::error::bad_descriptor;
    return {};
  }
  if (pcb_ == nullptr) {
    if (local_) return *local_;
    ec = asio::error::not_connected;
    return {};
  }
  return {from_lwip(pcb_->local_ip), pcb_->local_port};
}

tcp::endpoint tcp_connection::remote_endpoint(std::error_code& ec) const {
  ec = {};
  if (!open_) {
    ec = asio::error::bad_descriptor;
    return {};
  }
  if (pcb_ == nullptr && remote_) return *remote_;
  if (pcb_ == nullptr || connecting_) {
    ec = asio::error::not_connected;
    return {};
  }
  return {from_lwip(pcb_->remote_ip), pcb_->remote_port};
}

void tcp_connection::set_no_delay(bool on) {
  no_delay_ = on;
  apply_options();
}
void tcp_connection::set_keep_alive(bool on) {
  keep_alive_ = on;
  apply_options();
}
namespace {
// lwIP adds idle + count * interval in 32 bits (tcp_slowtmr): the sum must fit.
bool keep_alive_fits(std::uint64_t idle, std::uint64_t interval, std::uint64_t count) {
  return idle + count * interval <= 0xFFFFFFFFULL;
}
}  // namespace

bool tcp_connection::set_keep_alive_idle(std::uint32_t ms) {
  if (!keep_alive_fits(ms, keep_interval_ms_, keep_count_)) return false;
  keep_idle_ms_ = ms;
  apply_options();
  return true;
}
bool tcp_connection::set_keep_alive_interval(std::uint32_t ms) {
  if (!keep_alive_fits(keep_idle_ms_, ms, keep_count_)) return false;
  keep_interval_ms_ = ms;
  apply_options();
  return true;
}
bool tcp_connection::set_keep_alive_count(std::uint32_t n) {
  if (!keep_alive_fits(keep_idle_ms_, keep_interval_ms_, n)) return false;
  keep_count_ = n;
  apply_options();
  return true;
}

void tcp_connection::on_stack_shutdown() noexcept {
  // The stack is going away and will free the pcb itself; let go of it and of the stack.
  detach();
  drop_received();
  error_ = asio::error::connection_aborted;
  fail_all(error_);
  registered_ = false;  // the stack drops its whole list
  gone_ = true;
}

// ---- lwIP callbacks -----------------------------------------------------------------------

// Received data waits here until the application reads it, counted against the memory limit as
// allocated: a segment of a few bytes in a pool pbuf (1.6 KB) is copied into a buffer of its
// size, so that a peer sending tiny segments cannot make each byte cost a kilobyte or more.
pbuf* tcp_connection::compact(pbuf* p) noexcept {
  std::size_t real = 0;
  for (const pbuf* q = p; q != nullptr; q = q->next) {
    real += sizeof(pbuf) + (pbuf_match_allocsrc(q, PBUF_TYPE_ALLOC_SRC_MASK_STD_MEMP_PBUF_POOL) ? PBUF_POOL_BUFSIZE : q->len);
  }
  if (real < 4 * (p->tot_len + sizeof(pbuf))) return p;
  pbuf* small = pbuf_alloc(PBUF_RAW, p->tot_len, PBUF_RAM);
  if (small == nullptr) return p;
  pbuf_copy(small, p);
  pbuf_free(p);
  stack_.note_received_compacted();
  return small;
}

err_t tcp_connection::on_recv(pbuf* p, err_t err) {
  if (p == nullptr) {
    // FIN: the peer has sent everything (RFC 9293 3.10.7.4, eighth step).
    fin_received_ = true;
    if (shut_send_ && pcb_ != nullptr) {
      // Both sides have closed: lwIP takes the pcb to TIME-WAIT (or CLOSING) and will free it
      // later without telling us (no err callback on that path). Hand it over now, keeping
      // what the socket may still be asked about; the data already received stays readable.
      local_ = tcp::endpoint{from_lwip(pcb_->local_ip), pcb_->local_port};
      remote_ = tcp::endpoint{from_lwip(pcb_->remote_ip), pcb_->remote_port};
      tcp_pcb* pcb = detach();
      tcp_close(pcb);  // in TIME-WAIT/CLOSING this only marks the receive side closed
    }
    try_read();
    return ERR_OK;
  }
  if (err != ERR_OK) {  // not produced by lwIP 2.1, but documented as possible
    pbuf_free(p);
    return ERR_OK;
  }
  if (shut_receive_) {
    const std::size_t n = p->tot_len;
    pbuf_free(p);
    acknowledge(n);
    return ERR_OK;
  }
  p = compact(p);
  received_bytes_ += p->tot_len;
  received_.push_back(p);
  try_read();
  return ERR_OK;
}

err_t tcp_connection::on_sent(u16_t) {
  try_write();
  return ERR_OK;
}

err_t tcp_connection::on_poll() {
  if (pcb_ != nullptr) tcp_poll(pcb_, nullptr, 0);
  try_write();
  return ERR_OK;
}

void tcp_connection::on_error(err_t err) {
  // The pcb is already freed (see tcp_err_fn): forget it without touching it.
  pcb_ = nullptr;
  if (connecting_) {
    // A reset answering our SYN is a refused connection; ERR_ABRT here is lwIP giving up on
    // retransmitting the SYN.
    error_ = err == ERR_RST ? std::error_code{asio::error::connection_refused}
           : err == ERR_ABRT ? std::error_code{asio::error::timed_out}
                             : to_error_code(err);
    connecting_ = false;
    connect_.complete(error_);
  } else if (err == ERR_ABRT) {
    // Our own aborts never reach this callback (we detach first), so ERR_ABRT comes from
    // lwIP's timers: retransmissions, keep-alive probes or FIN-WAIT-2 ran out (tcp_slowtmr).
    error_ = asio::error::timed_out;
  } else {
    error_ = to_error_code(err);
  }
  try_read();
  try_write();
}

err_t tcp_connection::on_connected(err_t err) {
  connecting_ = false;
  apply_options();
  connect_.complete(to_error_code(err));
  try_write();
  return ERR_OK;
}

// ---- Entry points from the public API ------------------------------------------------------

void tcp_start_connect(std::shared_ptr<tcp_connection>& slot, const asio::any_io_executor& ex,
                       const tcp::endpoint& peer, completion<std::error_code> handler) {
  if (!slot) {
    // A closed (or moved-from) socket opens again to connect, as Asio's do: a new connection on
    // the stack of the socket's executor, sharing nothing with the one before.
    if (!ex) return handler.complete(asio::error::bad_descriptor);  // never had a stack
    try {
      slot = std::make_shared<tcp_connection>(stack::for_executor(ex).impl());
    } catch (const std::system_error& e) {
      return handler.complete(e.code());  // no_stack: the stack went away meanwhile
    }
  }
  const std::shared_ptr<tcp_connection>& c = slot;
  if (c->gone()) return handler.complete(asio::error::connection_aborted);
  c->stack().run_or_post([c, peer, h = std::move(handler)]() mutable {
    if (c->gone()) return h.complete(asio::error::connection_aborted);  // the stack went meanwhile
    c->start_connect(peer, std::move(h));
  });
}

void tcp_start_read(const std::shared_ptr<tcp_connection>& c, mutable_buffers buffers,
                    completion<std::error_code, std::size_t> handler) {
  if (!c) return handler.complete(asio::error::bad_descriptor, 0);
  if (c->gone()) return handler.complete(asio::error::connection_aborted, 0);
  c->stack().run_or_post([c, b = std::move(buffers), h = std::move(handler)]() mutable {
    if (c->gone()) return h.complete(asio::error::connection_aborted, 0);
    c->start_read(std::move(b), std::move(h));
  });
}

void tcp_start_write(const std::shared_ptr<tcp_connection>& c, const_buffers buffers,
                     completion<std::error_code, std::size_t> handler) {
  if (!c) return handler.complete(asio::error::bad_descriptor, 0);
  if (c->gone()) return handler.complete(asio::error::connection_aborted, 0);
  c->stack().run_or_post([c, b = std::move(buffers), h = std::move(handler)]() mutable {
    if (c->gone()) return h.complete(asio::error::connection_aborted, 0);
    c->start_write(std::move(b), std::move(h));
  });
}

void tcp_start_wait(const std::shared_ptr<tcp_connection>& c, asio::socket_base::wait_type what,
                    completion<std::error_code> handler) {
  if (!c) return handler.complete(asio::error::bad_descriptor);
  if (c->gone()) return handler.complete(asio::error::connection_aborted);
  c->stack().run_or_post([c, what, h = std::move(handler)]() mutable {
    if (c->gone()) return h.complete(asio::error::connection_aborted);
    c->start_wait(what, std::move(h));
  });
}

void throw_error(const std::error_code& ec, const char* operation) {
  throw std::system_error(ec, operation);
}

bool may_block(const asio::any_io_executor& ex, std::error_code& ec) noexcept {
  // The stack's own executor or a strand of its io_context: waiting on the thread that runs
  // that io_context would wait for work only that thread can do.
  const stack_impl* st = stack_impl::current();
  if (st != nullptr && st->runs_on(stack_impl::context_of(ex)) && st->blocking_would_deadlock()) {
    ec = errc::blocking_on_stack_thread;
    return false;
  }
  return true;
}

}  // namespace detail

// ---- tcp::socket ---------------------------------------------------------------------------

tcp::socket::socket(stack& s) : impl_(std::make_shared<detail::tcp_connection>(s.impl())), executor_(s.get_executor()) {}

// Handlers without an executor of their own then run on @p ex (a strand, say), as with Asio.
tcp::socket::socket(const executor_type& ex) : socket(stack::for_executor(ex)) { executor_ = ex; }

tcp::socket::socket(std::shared_ptr<detail::tcp_connection> impl, executor_type ex)
    : impl_(std::move(impl)), executor_(std::move(ex)) {}

tcp::socket::socket(socket&& other) noexcept
    : impl_(std::move(other.impl_)), executor_(other.executor_) {}

tcp::socket& tcp::socket::operator=(socket&& other) noexcept {
  if (this != &other) {
    std::error_code ignored;
    close(ignored);
    impl_ = std::move(other.impl_);
    executor_ = other.executor_;
  }
  return *this;
}

tcp::socket::~socket() {
  std::error_code ignored;
  close(ignored);
}

bool tcp::socket::is_open() const noexcept { return impl_ && !impl_->gone() && impl_->is_open(); }

void tcp::socket::connect(const endpoint_type& peer, std::error_code& ec) {
  if (!detail::may_block(executor_, ec)) return;
  std::promise<std::error_code> done;
  auto result = done.get_future();
  async_connect(peer, [&done](std::error_code e) { done.set_value(e); });
  ec = result.get();
}

void tcp::socket::wait(wait_type what, std::error_code& ec) {
  if (!detail::may_block(executor_, ec)) return;
  std::promise<std::error_code> done;
  auto result = done.get_future();
  async_wait(what, [&done](std::error_code e) { done.set_value(e); });
  ec = result.get();
}

std::size_t tcp::socket::available(std::error_code& ec) const {
  std::size_t n = 0;
  detail::on_stack(impl_, ec, [&](detail::tcp_connection& c) { n = c.available(); });
  return n;
}

void tcp::socket::shutdown(asio::socket_base::shutdown_type what, std::error_code& ec) {
  std::error_code result;
  detail::on_stack(impl_, ec, [&](detail::tcp_connection& c) { c.shutdown(what, result); });
  if (!ec) ec = result;
}

void tcp::socket::close(std::error_code& ec) {
  ec = {};
  detail::close_on_stack(impl_);
}

void tcp::socket::cancel(std::error_code& ec) {
  detail::on_stack_later(impl_, ec, [](detail::tcp_connection& c) { c.cancel(); });  // never waits
}

void tcp::socket::bind(const endpoint_type& local, std::error_code& ec) {
  std::error_code result;
  detail::on_stack(impl_, ec, [&](detail::tcp_connection& c) { c.bind(local, result); });
  if (!ec) ec = result;
}

tcp::endpoint tcp::socket::local_endpoint(std::error_code& ec) const {
  tcp::endpoint e;
  std::error_code result;
  detail::on_stack(impl_, ec, [&](detail::tcp_connection& c) { e = c.local_endpoint(result); });
  if (!ec) ec = result;
  return e;
}

tcp::endpoint tcp::socket::remote_endpoint(std::error_code& ec) const {
  tcp::endpoint e;
  std::error_code result;
  detail::on_stack(impl_, ec, [&](detail::tcp_connection& c) { e = c.remote_endpoint(result); });
  if (!ec) ec = result;
  return e;
}

namespace {

std::uint32_t to_ms(std::chrono::milliseconds d, std::error_code& ec) {
  ec = {};
  if (d.count() <= 0 || d.count() > 0xFFFFFFFFLL) {
    ec = asio::error::invalid_argument;
    return 0;
  }
  return static_cast<std::uint32_t>(d.count());
}

}  // namespace

void tcp::socket::set_option(const tcp::no_delay& option, std::error_code& ec) {
  detail::on_stack(impl_, ec, [&](detail::tcp_connection& c) { c.set_no_delay(option.value()); });
}
void tcp::socket::set_option(const tcp::keep_alive& option, std::error_code& ec) {
  detail::on_stack(impl_, ec, [&](detail::tcp_connection& c) { c.set_keep_alive(option.value()); });
}
void tcp::socket::set_option(const tcp::keep_alive_idle& option, std::error_code& ec) {
  const std::uint32_t ms = to_ms(option.value, ec);
  if (ec) return;
  bool ok = true;
  detail::on_stack(impl_, ec, [&](detail::tcp_connection& c) { ok = c.set_keep_alive_idle(ms); });
  if (!ec && !ok) ec = asio::error::invalid_argument;  // idle + count * interval must fit 32 bits of ms
}
void tcp::socket::set_option(const tcp::keep_alive_interval& option, std::error_code& ec) {
  const std::uint32_t ms = to_ms(option.value, ec);
  if (ec) return;
  bool ok = true;
  detail::on_stack(impl_, ec, [&](detail::tcp_connection& c) { ok = c.set_keep_alive_interval(ms); });
  if (!ec && !ok) ec = asio::error::invalid_argument;
}
void tcp::socket::set_option(const tcp::keep_alive_count& option, std::error_code& ec) {
  if (option.value == 0) {
    ec = asio::error::invalid_argument;
    return;
  }
  bool ok = true;
  detail::on_stack(impl_, ec, [&](detail::tcp_connection& c) { ok = c.set_keep_alive_count(option.value); });
  if (!ec && !ok) ec = asio::error::invalid_argument;
}
void tcp::socket::get_option(tcp::no_delay& option, std::error_code& ec) const {
  detail::on_stack(impl_, ec, [&](detail::tcp_connection& c) { option = tcp::no_delay(c.no_delay()); });
}
void tcp::socket::get_option(tcp::keep_alive& option, std::error_code& ec) const {
  detail::on_stack(impl_, ec, [&](detail::tcp_connection& c) { option = tcp::keep_alive(c.keep_alive()); });
}
void tcp::socket::get_option(tcp::keep_alive_idle& option, std::error_code& ec) const {
  detail::on_stack(impl_, ec, [&](detail::tcp_connection& c) {
    option.value = std::chrono::milliseconds(c.keep_alive_idle());
  });
}
void tcp::socket::get_option(tcp::keep_alive_interval& option, std::error_code& ec) const {
  detail::on_stack(impl_, ec, [&](detail::tcp_connection& c) {
    option.value = std::chrono::milliseconds(c.keep_alive_interval());
  });
}
void tcp::socket::get_option(tcp::keep_alive_count& option, std::error_code& ec) const {
  detail::on_stack(impl_, ec, [&](detail::tcp_connection& c) { option.value = c.keep_alive_count(); });
}

}  // namespace tunstack
