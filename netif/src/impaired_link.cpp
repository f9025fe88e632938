// SPDX-License-Identifier: BSD-3-Clause
// impaired_link.cpp - the impairment decorator (see impaired_link.hpp). Each direction is a
// `pipeline` that knows nothing of links: packets go in with their arrival time and come out
// in release order. The link around the two pipelines reads and writes the inner link and
// keeps one clock callback armed per direction for the earliest time something falls due.
//
// Over a link that offloads (TUN with IFF_VNET_HDR), an impaired direction works on packets as
// a wire carries them: inbound super-packets are cut into segments before anything happens to
// them, outbound the stack is told the link takes no offloads. A direction with nothing active
// passes everything through, super-packets and their metadata included.
#include "tunstack/netif/impaired_link.hpp"

#include "tcp_segmentation.hpp"

#include <asio/error.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>

namespace tunstack::netif {

bool impairment::active() const noexcept {
  return loss > 0 || duplicate > 0 || corrupt > 0 || reorder > 0 || delay.count() > 0 ||
         jitter.count() > 0 || rate > 0;
}

namespace {

using std::chrono::nanoseconds;
using packet = std::vector<std::byte>;

// xoshiro256** (Blackman and Vigna, 2018), seeded through splitmix64 as its authors advise.
// Ours rather than <random>'s: the standard distributions are implementation-defined, so the
// same seed would give other decisions with another standard library.
class generator {
 public:
  generator(std::uint64_t seed, std::uint64_t stream) noexcept {
    std::uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ULL);  // one stream per direction
    for (auto& word : s_) word = splitmix64(x);
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1): the top 53 bits as a double's mantissa.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// True with probability @p percent / 100. Draws nothing for 0, so a stage that is off does
  /// not shift the decisions of the others.
  bool chance(double percent) noexcept { return percent > 0 && uniform() * 100.0 < percent; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  std::array<std::uint64_t, 4> s_{};
};

struct direction_counters {
  std::uint64_t packets = 0, lost = 0, duplicated = 0, corrupted = 0, reordered = 0, delayed = 0,
                queue_drops = 0;
};

// One direction: loss → corrupt → duplicate → reorder → delay (+jitter) and rate.
class pipeline {
 public:
  struct entry {
    packet bytes;
    std::uint64_t id;  // which push() it came from (both copies of a duplicate share it)
    packet_offload offload;  // inbound: whether the checksum is vouched for (or unfinished)
  };

  pipeline(const impairment& config, std::uint64_t seed, std::uint64_t stream)
      : config_(config), random_(seed, stream) {}

  /// Takes a packet that arrived at @p now. @returns false if it was dropped for the queue
  /// limit (its first copy).
  bool push(packet p, nanoseconds now, std::uint64_t id, packet_offload offload = {}) {
    ++counters.packets;
    if (random_.chance(config_.loss)) {
      ++counters.lost;
      return true;
    }
    if (random_.chance(config_.corrupt) && !p.empty()) {
      // A checksum the link vouched for (or left unfinished) is made a real one first and no
      // longer vouched for: the receiver's check must be able to catch the flipped bit, as on
      // a wire.
      if (offload.checksum_trusted) {
        detail::finish_transport_checksum(p);
        offload.checksum_trusted = false;
      }
      const auto bit = static_cast<std::size_t>(random_.uniform() * static_cast<double>(p.size() * 8));
      p[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
      ++counters.corrupted;
    }
    int copies = 1;
    if (random_.chance(config_.duplicate)) {
      ++counters.duplicated;
      copies = 2;
    }
    bool first_admitted = true;
    for (int c = 0; c < copies; ++c) {
      packet q = c + 1 == copies ? std::move(p) : p;
      if (held() >= config_.queue_limit) {
        ++counters.queue_drops;
        if (c == 0) first_admitted = false;
        continue;
      }
      if (random_.chance(config_.reorder)) {
        ++counters.reordered;
        if (reordered_.empty()) reorder_deadline_ = now + config_.reorder_timeout;
        reordered_.push_back({std::move(q), id, offload});
        continue;
      }
      schedule({std::move(q), id, offload}, now);
      release_reordered(now);  // the held-back packets go right after the one that followed them
    }
    return first_admitted;
  }

  /// Releases the held-back packets if nothing followed them within reorder_timeout.
  void release_timed_out(nanoseconds now) {
    if (!reordered_.empty() && reorder_deadline_ <= now) release_reordered(now);
  }

  /// The next time something falls due: a queued packet or the reorder timeout.
  std::optional<nanoseconds> next_event() const {
    std::optional<nanoseconds> t;
    if (!queue_.empty()) t = queue_.begin()->first;
    if (!reordered_.empty() && (!t || reorder_deadline_ < *t)) t = reorder_deadline_;
    return t;
  }

  bool has_due(nanoseconds now) const { return !queue_.empty() && queue_.begin()->first <= now; }

  std::optional<entry> pop_due(nanoseconds now) {
    if (!has_due(now)) return std::nullopt;
    entry e = std::move(queue_.begin()->second);
    queue_.erase(queue_.begin());
    return e;
  }

  direction_counters counters;

 private:
  std::size_t held() const noexcept { return queue_.size() + reordered_.size(); }

  void release_reordered(nanoseconds now) {
    for (auto& e : reordered_) schedule(std::move(e), now);
    reordered_.clear();
  }

  // Delay, jitter and rate: when the packet leaves.
  void schedule(entry e, nanoseconds now) {
    nanoseconds d = config_.delay;
    if (config_.jitter.count() > 0) {
      const std::int64_t j = config_.jitter.count();
      const auto offset = static_cast<std::int64_t>(random_.uniform() * static_cast<double>(2 * j + 1)) - j;
      d = std::max(nanoseconds{0}, d + nanoseconds{offset});
    }
    nanoseconds release = now + d;
    if (config_.rate > 0) {
      // Serialisation: the packet starts when the previous one has left (FIFO), and takes
      // size * 8 / rate seconds.
      const std::uint64_t bits = e.bytes.size() * 8;
      const auto transmit = nanoseconds{static_cast<std::int64_t>(bits * 1'000'000'000ULL / config_.rate)};
      release = std::max(release, line_free_) + transmit;
      line_free_ = release;
    }
    if (release > now) ++counters.delayed;
    queue_.emplace(release, std::move(e));  // after equal times: arrival order kept
  }

  impairment config_;
  generator random_;
  std::multimap<nanoseconds, entry> queue_;
  std::vector<entry> reordered_;
  nanoseconds reorder_deadline_{0};
  nanoseconds line_free_{0};
};

void check(const impairment& i, const char* direction) {
  auto percent = [direction](double v, const char* what) {
    if (!(v >= 0 && v <= 100)) {  // also refuses NaN
      throw std::invalid_argument(std::string("impairment.") + direction + "." + what + " is " +
                                  std::to_string(v) + "; a percentage must be 0..100");
    }
  };
  percent(i.loss, "loss");
  percent(i.duplicate, "duplicate");
  percent(i.corrupt, "corrupt");
  percent(i.reorder, "reorder");
  if (i.delay.count() < 0 || i.jitter.count() < 0 || i.reorder_timeout.count() < 0) {
    throw std::invalid_argument(std::string("impairment.") + direction + ": delay, jitter and reorder_timeout must not be negative");
  }
  if (i.queue_limit == 0) {
    throw std::invalid_argument(std::string("impairment.") + direction + ".queue_limit must be at least 1");
  }
}

constexpr std::size_t max_packet = 65536;  // the largest IP packet, and then some
constexpr std::size_t max_pull = 256;      // packets read from the inner link per call

}  // namespace

struct impaired_link::state : std::enable_shared_from_this<impaired_link::state> {
  state(link& inner_link, link_clock& link_clock, impairment_config c)
      : inner(inner_link),
        clock(link_clock),
        config(c),
        in_active(c.in.active()),
        out_active(c.out.active()),
        in(c.in, c.seed, 1),
        out(c.out, c.seed, 2) {}

  link& inner;
  link_clock& clock;
  const impairment_config config;
  const bool in_active;
  const bool out_active;
  pipeline in;
  pipeline out;
  std::uint64_t next_id = 0;
  std::uint64_t out_send_errors = 0;
  std::uint64_t in_segmented = 0;  // inbound super-packets cut into segments

  // Inbound waiting.
  std::function<void(std::error_code)> waiter;
  bool inner_waiting = false;
  std::error_code pending_error;  // met while reading the inner link; returned after due packets
  packet scratch = packet(max_packet);

  // The earliest time a clock callback is outstanding for, per direction.
  std::optional<nanoseconds> in_armed, out_armed;

  // Reads what the inner link has into the inbound pipeline, stamped with the current time.
  void pull_inbound() {
    for (std::size_t i = 0; i < max_pull && !pending_error; ++i) {
      std::error_code ec;
      const std::array<asio::mutable_buffer, 1> b{asio::buffer(scratch)};
      packet_offload offload;
      const std::size_t n = inner.receive_offloaded(b, offload, ec);
      if (ec == asio::error::would_block) return;
      if (ec) {
        pending_error = ec;  // device gone, or a packet too large: the caller hears of it
        return;
      }
      const std::span<const std::byte> bytes{scratch.data(), n};
      if (offload.segment_size != 0) {
        // A super-packet stands for many packets on the wire: each is impaired on its own. Its
        // checksum covers all of them, so one the link does not vouch for is checked once here;
        // the segments get checksums of their own, right ones, vouched for from then on. One
        // that cannot be cut (or is wrong) goes on whole, for the stack to judge.
        if (offload.checksum_trusted || detail::transport_checksum_ok(bytes)) {
          auto segments = detail::segment_tcp(bytes, offload.segment_size);
          if (!segments.empty()) {
            ++in_segmented;
            const nanoseconds now = clock.now();
            for (auto& segment : segments) {
              in.push(std::move(segment), now, next_id++, {.checksum_trusted = true});
            }
            continue;
          }
        }
      }
      in.push(packet(bytes.begin(), bytes.end()), clock.now(), next_id++, offload);
    }
  }

  // The next due inbound packet into @p buffers, with its metadata; would_block if none.
  std::size_t take_due(std::span<const asio::mutable_buffer> buffers, packet_offload& offload, bool finish_checksum,
                       std::error_code& ec) {
    pull_inbound();
    if (auto e = in.pop_due(clock.now())) {
      // A caller that knows nothing of offloads gets the checksum finished, as a device would.
      if (finish_checksum && e->offload.checksum_trusted) detail::finish_transport_checksum(e->bytes);
      const std::size_t copied = asio::buffer_copy(buffers, asio::buffer(e->bytes));
      ec = copied < e->bytes.size() ? std::error_code{asio::error::message_size} : std::error_code{};
      offload = e->offload;
      return copied;
    }
    offload = {};
    if (pending_error) {
      ec = std::exchange(pending_error, {});
      return 0;
    }
    arm(in, in_armed, &state::on_in_due);
    ec = asio::error::would_block;
    return 0;
  }

  // Completes the pending wait through the clock's executor (call_at never runs inline).
  void complete(std::error_code ec) {
    if (!waiter) return;
    clock.call_at(clock.now(), [h = std::exchange(waiter, nullptr), ec] { h(ec); });
  }

  void wait_inner() {
    if (inner_waiting) return;
    inner_waiting = true;
    inner.async_wait_readable([weak = weak_from_this()](std::error_code ec) {
      if (auto s = weak.lock()) s->on_inner_ready(ec);
    });
  }

  void on_inner_ready(std::error_code ec) {
    inner_waiting = false;
    if (ec == asio::error::operation_aborted) {
      if (waiter) wait_inner();
      return;
    }
    if (ec) {
      complete(ec);  // the inner link failed: the caller's receive() will say how
      return;
    }
    pull_inbound();
    if (in.has_due(clock.now()) || pending_error) {
      complete({});
    } else if (waiter) {
      wait_inner();
    }
    arm(in, in_armed, &state::on_in_due);
  }

  void on_in_due() {
    in.release_timed_out(clock.now());
    if (in.has_due(clock.now())) complete({});
  }

  void on_out_due() {
    out.release_timed_out(clock.now());
    flush_out(std::nullopt);
  }

  // Sends every due outbound packet; @returns the inner link's error for packet @p current.
  std::error_code flush_out(std::optional<std::uint64_t> current) {
    std::error_code result;
    while (auto e = out.pop_due(clock.now())) {
      std::error_code ec;
      const std::array<asio::const_buffer, 1> b{asio::buffer(e->bytes)};
      inner.send(b, ec);
      if (!ec) continue;
      if (current && e->id == *current) {
        result = ec;
      } else {
        ++out_send_errors;
      }
    }
    return result;
  }

  // Keeps a clock callback outstanding for the direction's next event.
  void arm(pipeline& p, std::optional<nanoseconds>& armed, void (state::*on_due)()) {
    // Inbound packets already due wait for receive(), which arms again once they are taken.
    if (&p == &in && in.has_due(clock.now())) return;
    const auto next = p.next_event();
    if (!next || (armed && *armed <= *next)) return;
    armed = *next;
    const nanoseconds when = *next;
    clock.call_at(when, [weak = weak_from_this(), when, &armed, on_due, &p] {
      auto s = weak.lock();
      if (!s) return;  // the link is gone (armed and p were members of it)
      if (armed == when) armed.reset();
      ((*s).*on_due)();
      s->arm(p, armed, on_due);
    });
  }
};

impaired_link::impaired_link(link& inner, link_clock& clock, impairment_config config) {
  check(config.in, "in");
  check(config.out, "out");
  state_ = std::make_shared<state>(inner, clock, config);
}

impaired_link::~impaired_link() {
  // Our callback at the inner link would find the state gone; take it back anyway.
  if (state_->inner_waiting) state_->inner.cancel();
}

const impairment_config& impaired_link::config() const noexcept { return state_->config; }

std::string impaired_link::name() const { return state_->inner.name(); }

std::size_t impaired_link::mtu() const noexcept { return state_->inner.mtu(); }

std::size_t impaired_link::max_packet_size() const noexcept { return state_->inner.max_packet_size(); }

send_offloads impaired_link::send_offload_support() const noexcept {
  // Impaired packets must be the wire's: whole checksums (a corrupted bit must show) and one
  // segment per packet (a loss is one segment's).
  return state_->out_active ? send_offloads{} : state_->inner.send_offload_support();
}

std::size_t impaired_link::receive(std::span<const asio::mutable_buffer> buffers, std::error_code& ec) noexcept {
  state& s = *state_;
  if (!s.in_active) {
    const std::size_t n = s.inner.receive(buffers, ec);
    if (!ec) ++s.in.counters.packets;
    return n;
  }
  packet_offload ignored;
  return s.take_due(buffers, ignored, true, ec);
}

std::size_t impaired_link::receive_offloaded(std::span<const asio::mutable_buffer> buffers, packet_offload& offload,
                                             std::error_code& ec) noexcept {
  state& s = *state_;
  if (!s.in_active) {
    const std::size_t n = s.inner.receive_offloaded(buffers, offload, ec);
    if (!ec) ++s.in.counters.packets;
    return n;
  }
  return s.take_due(buffers, offload, false, ec);
}

void impaired_link::send(std::span<const asio::const_buffer> buffers, std::error_code& ec) noexcept {
  state& s = *state_;
  if (!s.out_active) {
    s.inner.send(buffers, ec);
    if (!ec) ++s.out.counters.packets;
    return;
  }
  packet p(asio::buffer_size(buffers));
  asio::buffer_copy(asio::buffer(p), buffers);
  const std::uint64_t id = s.next_id++;
  const bool admitted = s.out.push(std::move(p), s.clock.now(), id);
  ec = s.flush_out(id);
  if (!admitted) ec = asio::error::no_buffer_space;
  s.arm(s.out, s.out_armed, &state::on_out_due);
}

void impaired_link::send_offloaded(std::span<const asio::const_buffer> buffers, const packet_offload& offload,
                                   std::error_code& ec) noexcept {
  state& s = *state_;
  if (!s.out_active) {
    s.inner.send_offloaded(buffers, offload, ec);
    if (!ec) ++s.out.counters.packets;
    return;
  }
  link::send_offloaded(buffers, offload, ec);  // ordinary packets only (send_offload_support)
}

void impaired_link::async_wait_readable(std::function<void(std::error_code)> handler) {
  state& s = *state_;
  if (!s.in_active) {
    s.inner.async_wait_readable(std::move(handler));
    return;
  }
  s.waiter = std::move(handler);
  if (s.in.has_due(s.clock.now()) || s.pending_error) {
    s.complete({});
    return;
  }
  s.wait_inner();
  s.arm(s.in, s.in_armed, &state::on_in_due);
}

void impaired_link::cancel() noexcept {
  state& s = *state_;
  if (!s.in_active) {
    s.inner.cancel();
    return;
  }
  s.complete(asio::error::operation_aborted);
}

std::vector<link_counter> impaired_link::counters() const {
  std::vector<link_counter> all = state_->inner.counters();
  auto add = [&all](const char* direction, const direction_counters& c) {
    const std::string p = std::string("impair_") + direction + "_";
    all.push_back({p + "packets", c.packets});
    all.push_back({p + "lost", c.lost});
    all.push_back({p + "duplicated", c.duplicated});
    all.push_back({p + "corrupted", c.corrupted});
    all.push_back({p + "reordered", c.reordered});
    all.push_back({p + "delayed", c.delayed});
    all.push_back({p + "queue_drops", c.queue_drops});
  };
  add("in", state_->in.counters);
  add("out", state_->out.counters);
  all.push_back({"impair_out_send_errors", state_->out_send_errors});
  all.push_back({"impair_in_segmented", state_->in_segmented});
  return all;
}

}  // namespace tunstack::netif
