// SPDX-License-Identifier: BSD-3-Clause
// netif_adapter.cpp - the one place where a netif::link meets lwIP's struct netif.
//
// Inbound: when the link is readable, drain it in a bounded batch, reading each packet
// straight into a pbuf chain (no intermediate copy), and hand it to lwIP (netif->input, i.e.
// ip_input, which picks IPv4 or IPv6 by the version nibble). Outbound: lwIP calls
// output/output_ip6 with a pbuf chain, which is written to the link as one packet (a gather
// write). The loop never blocks: a full device queue drops the packet and counts it, as a NIC
// would. After each batch the stack re-arms lwIP's timer.
//
// With a link that offloads to the kernel (TUN with IFF_VNET_HDR): packets arrive as TCP
// super-packets of up to 64 KiB, which lwIP takes as one segment, and with checksums the
// kernel vouches for, which lwIP then does not check. TCP data segments lwIP sends are held
// until the end of the current handler and runs of them leave as one super-packet that the
// kernel cuts up (detail/super_packet.hpp); everything else leaves at once, after them.
#include "detail/interface.hpp"
#include "detail/packet_summary.hpp"
#include "detail/stack_impl.hpp"
#include "detail/super_packet.hpp"
#include "detail/tcp_tracer.hpp"
#include "tunstack/netif/link.hpp"
#include "tunstack_port.h"

#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

#include <asio/error.hpp>
#include <asio/post.hpp>

#include <array>
#include <chrono>
#include <cstring>
#include <span>
#include <stdexcept>
#include <vector>

namespace tunstack::detail {
namespace {

// A pbuf chain holds at most this many pbufs for one packet (65535 / PBUF_POOL_BUFSIZE < 64).
constexpr std::size_t max_segments = 64;

ip4_addr_t to_lwip(const asio::ip::address_v4& a) {
  ip4_addr_t r;
  ip4_addr_set_u32(&r, lwip_htonl(a.to_uint()));
  return r;
}

class netif_adapter final : public interface, public std::enable_shared_from_this<netif_adapter> {
 public:
  netif_adapter(stack_impl& stack, netif::link& link, const interface_config& config)
      : stack_(stack), link_(link), config_(config), name_(link.name()), mtu_(link.mtu()) {}

  ~netif_adapter() override {
    stop();
    if (spare_ != nullptr) pbuf_free(spare_);
    if (!link_gone_) link_.set_destroy_notification(nullptr);
  }

  void start() {
    ip4_addr_t address{}, netmask{}, gateway{};
    if (config_.ipv4) {
      address = to_lwip(config_.ipv4->address());
      netmask = to_lwip(config_.ipv4->netmask());
    }
    // netif->state points at this adapter; lwIP's callbacks find their way back through it.
    if (netif_add(&netif_, &address, &netmask, &gateway, this, &netif_adapter::on_init,
                  netif_input) == nullptr) {
      throw std::runtime_error("lwIP refused to add an interface for link " + name_);
    }
    added_ = true;
    running_ = true;
    // A link that finishes TCP checksums (partial, as the kernel's own sockets send them over
    // a device with checksum offload) spares lwIP computing them.
    offloads_ = link_.send_offload_support();
    checksums_ = offloads_.partial_checksums ? NETIF_CHECKSUM_ENABLE_ALL & ~NETIF_CHECKSUM_GEN_TCP
                                             : NETIF_CHECKSUM_ENABLE_ALL;
    NETIF_SET_CHECKSUM_CTRL(&netif_, checksums_);
    link_.set_destroy_notification([this] {
      // The link is gone (destroyed before the stack, or before remove_interface): never
      // touch it again. lwIP's netif stays until stop(), but sends nothing.
      link_gone_ = true;
      running_ = false;
      stack_.log(log_level::warning, "a link was destroyed while attached to the stack; remove "
                                     "the interface (or destroy the stack) first");
    });
    std::string addresses = config_.ipv4 ? config_.ipv4->to_string() : std::string{};
    for (const auto& network : config_.ipv6) {
      ip6_addr_t a;
      const auto bytes = network.address().to_bytes();
      std::memcpy(a.addr, bytes.data(), bytes.size());
      ip6_addr_clear_zone(&a);
      s8_t index = -1;
      if (netif_add_ip6_address(&netif_, &a, &index) != ERR_OK) {
        throw std::invalid_argument("cannot add IPv6 address " + network.to_string() + " to " + name_ +
                                    " (at most " + std::to_string(LWIP_IPV6_NUM_ADDRESSES) + " per interface)");
      }
      // No duplicate address detection on a point-to-point link: valid at once.
      netif_ip6_addr_set_state(&netif_, index, IP6_ADDR_PREFERRED);
      addresses += (addresses.empty() ? "" : ", ") + network.to_string();
    }
    netif_set_up(&netif_);
    netif_set_link_up(&netif_);
    if ((config_.ipv4 || !config_.ipv6.empty()) && netif_default == nullptr) netif_set_default(&netif_);
    stack_.log(log_level::info, "interface " + name_ + " up: " +
                                    (addresses.empty() ? std::string{"no address"} : addresses) +
                                    ", MTU " + std::to_string(mtu_));
    wait_readable();
  }

  void stop() noexcept override {
    if (!added_) return;
    running_ = false;
    if (!link_gone_) link_.cancel();
    release_held();
    netif_remove(&netif_);
    added_ = false;
  }

  interface_stats stats() const override {
    interface_stats s;
    s.name = name_;
    s.mtu = mtu_;
    s.ipv4 = config_.ipv4;
    s.ipv6 = config_.ipv6;
    s.up = running_ && !failed_;
    s.link = counters_;
    if (!link_gone_) {
      for (auto& c : link_.counters()) s.device.push_back({std::move(c.name), c.value});
    }
    return s;
  }

 private:
  static netif_adapter& self(struct netif* n) { return *static_cast<netif_adapter*>(n->state); }

  static err_t on_init(struct netif* n) {
    netif_adapter& a = self(n);
    n->name[0] = 't';
    n->name[1] = 'n';
    n->output = &netif_adapter::on_output4;
    n->output_ip6 = &netif_adapter::on_output6;
    n->mtu = static_cast<u16_t>(a.mtu_);
    n->mtu6 = n->mtu;
    n->hwaddr_len = 0;  // layer 3 link: no hardware address, no ARP
    n->flags = 0;
    return ERR_OK;
  }

  static err_t on_output4(struct netif* n, struct pbuf* p, const ip4_addr_t*) {
    return self(n).transmit(p);
  }
  static err_t on_output6(struct netif* n, struct pbuf* p, const ip6_addr_t*) {
    return self(n).transmit(p);
  }

  // lwIP keeps ownership of p; the link copies it out (write/writev) before returning, or the
  // adapter holds a reference until it does (super-packets).
  err_t transmit(struct pbuf* p) {
    if (!running_ || failed_) return ERR_IF;
    if (stack_.logs(log_level::debug)) log_packet("tx", p);
    if (tcp_tracer* t = stack_.tracer()) {
      t->scan(stack_.now_ns());  // what led to this segment (e.g. a new connection) comes first
      t->packet(stack_.now_ns(), true, name_, p);
    }
    if (offloads_.super_packets) {
      if (auto segment = joinable_segment(p)) {
        hold(*segment);
        return ERR_OK;
      }
      send_held();  // what lwIP sent first leaves first
    }
    send_packet(p);
    return ERR_OK;
  }

  // One of lwIP's packets as it is (a gather write of its pbufs).
  void send_packet(struct pbuf* p) {
    netif::packet_offload offload;
    if (offloads_.partial_checksums) {
      // lwIP computes no TCP checksums on this interface (start()): the kernel finishes them.
      offload.checksum_partial = write_partial_checksum(p);
    }
    std::array<asio::const_buffer, max_segments> buffers;
    std::size_t count = 0;
    for (const struct pbuf* q = p; q != nullptr && q->len > 0; q = q->next) {
      if (count == buffers.size()) {
        ++counters_.tx_errors;
        return;  // cannot happen with lwIP's segment sizes; dropped and counted
      }
      buffers[count++] = asio::const_buffer(q->payload, q->len);
    }
    send(std::span<const asio::const_buffer>(buffers.data(), count), offload, p->tot_len);
  }

  // One packet to the link, counted; a full queue drops it as a NIC would.
  void send(std::span<const asio::const_buffer> buffers, const netif::packet_offload& offload, std::size_t size) {
    std::error_code ec;
    link_.send_offloaded(buffers, offload, ec);
    if (!ec) {
      ++counters_.tx_packets;
      counters_.tx_bytes += size;
      tx_error_reported_ = false;
      return;
    }
    if (ec == asio::error::would_block || ec == asio::error::no_buffer_space) {
      ++counters_.tx_dropped_queue_full;  // best effort, as a NIC with a full ring
      return;
    }
    ++counters_.tx_errors;
    if (!tx_error_reported_) {
      // EIO: the kernel side of a TUN device is down (ip link set ... down).
      stack_.log(log_level::warning, "cannot send on " + name_ + ": " + ec.message() +
                                         (ec == std::errc::io_error ? " (is the link down on the kernel side?)" : "") +
                                         "; dropping packets until it works again");
      tx_error_reported_ = true;
    }
  }

  // Keeps a TCP data segment (and a reference to its pbuf: lwIP does not retransmit a segment
  // while a driver holds it) until send_held(), at the end of this handler at the latest.
  void hold(const tcp_segment& segment) {
    pbuf_ref(const_cast<struct pbuf*>(segment.p));
    held_.push_back(segment);
    if (held_.size() == 1) {
      asio::post(stack_.io(), [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
          const auto entered = self->stack_.enter_handler();
          self->send_held();
        }
      });
    }
  }

  // Sends the held segments, each run that continues (super_packet.hpp) as one super-packet.
  void send_held() {
    if (!running_ || failed_) {  // stopped, failed, or the link is gone: drop them
      release_held();
      return;
    }
    std::size_t i = 0;
    while (i < held_.size()) {
      std::size_t j = i + 1;
      std::size_t buffers = 1 + held_[i].pbufs;  // the super-packet's headers, then data
      while (j < held_.size() && continues_run(held_[i], held_[j - 1], held_[j]) &&
             buffers + held_[j].pbufs <= max_segments) {
        buffers += held_[j].pbufs;
        ++j;
      }
      if (j - i == 1) {
        send_packet(const_cast<struct pbuf*>(held_[i].p));  // alone: as lwIP made it
      } else {
        send_run(i, j);
      }
      i = j;
    }
    release_held();
  }

  // Sends held_[from, to) (two or more segments) as one super-packet.
  void send_run(std::size_t from, std::size_t to) {
    const tcp_segment& first = held_[from];
    std::array<asio::const_buffer, max_segments> buffers;
    std::size_t payload = 0;
    std::size_t count = 1;  // buffers[0]: the super-packet's headers
    for (std::size_t k = from; k < to; ++k) {
      std::size_t skip = held_[k].headers.size();
      for (const struct pbuf* q = held_[k].p; q != nullptr; q = q->next) {
        if (q->len > skip) buffers[count++] = asio::const_buffer(static_cast<const std::byte*>(q->payload) + skip, q->len - skip);
        skip -= std::min<std::size_t>(skip, q->len);
      }
      payload += held_[k].payload;
    }
    const std::size_t headers = write_super_header(first, held_[to - 1], payload, super_header_);
    buffers[0] = asio::const_buffer(super_header_.data(), headers);
    send(std::span<const asio::const_buffer>(buffers.data(), count),
         {.segment_size = static_cast<std::uint16_t>(first.payload), .header_length = static_cast<std::uint16_t>(headers)},
         headers + payload);
  }

  void release_held() {
    for (const auto& s : held_) pbuf_free(const_cast<struct pbuf*>(s.p));
    held_.clear();
  }

  void wait_readable() {
    link_.async_wait_readable([weak = weak_from_this()](std::error_code ec) {
      auto self = weak.lock();
      if (!self || !self->running_ || ec == asio::error::operation_aborted) return;
      const auto entered = self->stack_.enter_handler();
      if (ec) {
        self->fail(ec);
        return;
      }
      self->drain();
    });
  }

  // Reads up to rx_batch packets, each straight into a pbuf chain, and hands them to lwIP.
  void drain() {
    const std::size_t batch = stack_.options().rx_batch;
    std::size_t read = 0;
    bool more = true;
    while (read < batch && running_) {
      if (!fill_spare()) {
        // No memory for a packet: leave it in the device queue; try again at the next wake-up.
        ++counters_.rx_dropped_no_memory;
        break;
      }
      std::array<asio::mutable_buffer, max_segments> buffers;
      std::size_t count = 0;
      for (struct pbuf* q = spare_; q != nullptr && count < buffers.size(); q = q->next) {
        buffers[count++] = asio::mutable_buffer(q->payload, q->len);
      }
      std::error_code ec;
      netif::packet_offload offload;
      const std::size_t n =
          link_.receive_offloaded(std::span<const asio::mutable_buffer>(buffers.data(), count), offload, ec);
      if (ec == asio::error::would_block) {
        more = false;
        break;
      }
      if (ec == asio::error::message_size) {  // larger than the MTU: cannot be valid
        ++read;
        ++counters_.rx_dropped_oversize;
        continue;
      }
      if (ec) {
        fail(ec);
        return;
      }
      ++read;
      if (!accept_size(spare_, n)) continue;  // the spare chain is used again
      struct pbuf* p = take_spare(n);
      ++counters_.rx_packets;
      counters_.rx_bytes += n;
      if (stack_.logs(log_level::debug)) log_packet("rx", p);
      tcp_tracer* const tracer = stack_.tracer();
      if (tracer != nullptr) tracer->packet(stack_.now_ns(), false, name_, p);
      // lwIP checks TCP and UDP checksums unless the kernel vouched for them (offload).
      NETIF_SET_CHECKSUM_CTRL(&netif_, offload.checksum_trusted ? checksums_ & ~unchecked : checksums_);
      port::set_input_coalesced(offload.segment_size != 0);  // many segments: ACKed at once
      // On ERR_OK lwIP owns p (and frees it when done); otherwise it is still ours.
      if (netif_.input(p, &netif_) != ERR_OK) pbuf_free(p);
      port::set_input_coalesced(false);
      if (tracer != nullptr) tracer->scan(stack_.now_ns());  // what this segment changed
    }
    if (read > 0) ++counters_.rx_batches;
    send_held();  // what lwIP answered to this batch, joined where it can be
    stack_.schedule_timers();
    if (!running_) return;
    bool polling = false;
    if (busy_poll_ > std::chrono::microseconds{0}) {
      const auto now = std::chrono::steady_clock::now();
      if (read > 0) last_packet_ = now;
      polling = !more && now - last_packet_ < busy_poll_;
    }
    if ((more && read == batch) || polling) {
      // The batch was full, or busy polling: let other handlers run, then continue draining.
      asio::post(stack_.io(), [weak = weak_from_this()] {
        if (auto self = weak.lock(); self && self->running_) {
          const auto entered = self->stack_.enter_handler();
          self->drain();
        }
      });
    } else {
      wait_readable();
    }
  }

  // The checks left out for packets whose checksums the kernel vouches for.
  static constexpr u16_t unchecked = NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_UDP;

  // The next read goes into spare_, a chain of pool pbufs as long as the largest packet the
  // link returns; a packet takes only the pbufs it fills, so a 64 KiB buffer costs a small
  // packet no allocation beyond its own pbuf. Returns false without memory.
  bool fill_spare() {
    const std::size_t want = link_.max_packet_size();
    const std::size_t have = spare_ != nullptr ? spare_->tot_len : 0;
    if (have >= want) return true;
    struct pbuf* more = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(want - have), PBUF_POOL);
    if (more == nullptr) return false;
    if (spare_ == nullptr) {
      spare_ = more;
    } else {
      pbuf_cat(spare_, more);
    }
    return true;
  }

  // Cuts the first @p n bytes (a packet just read) off spare_ as a chain of their own.
  struct pbuf* take_spare(std::size_t n) {
    struct pbuf* head = spare_;
    struct pbuf* last = head;
    std::size_t offset = 0;
    while (offset + last->len < n) {
      offset += last->len;
      last = last->next;
    }
    spare_ = last->next;  // its pbufs' tot_len still count to the end of the chain: right
    last->next = nullptr;
    last->len = static_cast<u16_t>(n - offset);
    offset = 0;
    for (struct pbuf* q = head; q != nullptr; q = q->next) {
      q->tot_len = static_cast<u16_t>(n - offset);
      offset += q->len;
    }
    return head;
  }

  // Drops what cannot be an IP packet before lwIP reads its header: lwIP's input checks
  // read the header fields first (so they must be in the buffer) and count the rest.
  bool accept_size(const struct pbuf* p, std::size_t n) {
    if (n < 20) {  // shorter than a minimal IPv4 header (or empty)
      ++counters_.rx_dropped_runt;
      return false;
    }
    const auto version = static_cast<const std::uint8_t*>(p->payload)[0] >> 4;
    if (version == 6 && n < 40) {
      ++counters_.rx_dropped_runt;
      return false;
    }
    return true;
  }

  // One debug line per packet: its headers, copied out of the (possibly chained) pbuf.
  void log_packet(const char* direction, const struct pbuf* p) {
    std::array<std::byte, 128> head;
    const u16_t n = pbuf_copy_partial(p, head.data(), static_cast<u16_t>(head.size()), 0);
    stack_.log(log_level::debug, std::string{direction} + " " + name_ + ": " +
                                     summarize_packet({head.data(), n}, p->tot_len));
  }

  void fail(std::error_code ec) {
    if (failed_) return;
    failed_ = true;
    netif_set_link_down(&netif_);
    stack_.log(log_level::error, "link " + name_ + " failed: " + ec.message());
    if (config_.on_link_failure) {
      asio::post(stack_.io(), [handler = config_.on_link_failure, ec] { handler(ec); });
    }
  }

  stack_impl& stack_;
  netif::link& link_;
  interface_config config_;
  const std::string name_;  // the link's, kept: the link may be gone when stats are read
  const std::size_t mtu_;
  struct netif netif_ {};
  link_counters counters_;
  bool added_ = false;
  bool running_ = false;
  bool failed_ = false;
  bool tx_error_reported_ = false;
  bool link_gone_ = false;
  const std::chrono::microseconds busy_poll_ = stack_.options().busy_poll;
  std::chrono::steady_clock::time_point last_packet_{};
  netif::send_offloads offloads_;      // what the link finishes for the stack
  u16_t checksums_ = NETIF_CHECKSUM_ENABLE_ALL;  // lwIP's checksum work on this interface
  struct pbuf* spare_ = nullptr;      // where the next packet is read (fill_spare)
  std::vector<tcp_segment> held_;     // TCP data segments waiting to leave (hold)
  super_header_bytes super_header_{};  // headers of the super-packet being sent
};

}  // namespace

std::shared_ptr<interface> interface::create(stack_impl& stack, netif::link& link,
                                             const interface_config& config) {
  auto adapter = std::make_shared<netif_adapter>(stack, link, config);
  adapter->start();
  return adapter;
}

}  // namespace tunstack::detail
