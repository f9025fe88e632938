// SPDX-License-Identifier: BSD-3-Clause
// sys_arch.cpp - the functions lwIP's port must provide under NO_SYS=1 (sys_now, diagnostics,
// assertions, random numbers, the ISN hook), each forwarding to the hooks the running
// tunstack::stack installed (tunstack_port.h). Built into the lwIP library itself, so lwIP
// links on its own; this is the only file below stack/src that lwIP calls into.
#include "tunstack_port.h"

#include "lwip/arch.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"
#include "lwip/sys.h"

#include <array>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

namespace {

tunstack::port::hooks g_hooks;

std::mt19937_64& rng() {
  static std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

// Secret for RFC 6528 ISNs; drawn from rng() at seed time so a fixed seed reproduces it, or on
// first use when nobody seeded. (Drawing it in a static initialiser consumed two numbers only
// in the process's first stack, so the same seed gave that stack other ports and ISNs.)
struct secret_state {
  std::array<std::uint64_t, 2> value{};
  bool drawn = false;
};
secret_state& secret() {
  static secret_state s;
  return s;
}
void draw_secret() {
  secret().value = {rng()(), rng()()};
  secret().drawn = true;
}
const std::array<std::uint64_t, 2>& isn_secret() {
  if (!secret().drawn) draw_secret();
  return secret().value;
}

std::chrono::steady_clock::duration steady_since_start() {
  static const auto start = std::chrono::steady_clock::now();
  return std::chrono::steady_clock::now() - start;
}
std::uint32_t steady_ms() {
  return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(steady_since_start()).count());
}

// splitmix64's finaliser: a fast, well-mixing 64-bit permutation. Keyed by the secret below it
// makes ISN offsets unpredictable to an off-path attacker; it is not a cryptographic MAC.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t hash_address(std::uint64_t h, const ip_addr_t* addr) {
  if (addr == nullptr) return mix(h);
  if (IP_IS_V6(addr)) {
    for (u32_t word : ip_2_ip6(addr)->addr) h = mix(h ^ word);
    return h;
  }
  return mix(h ^ ip4_addr_get_u32(ip_2_ip4(addr)));
}

std::string g_diag_line;  // lwIP debug output arrives in fragments; emit whole lines

}  // namespace

namespace tunstack::port {

void install(const hooks& h) noexcept { g_hooks = h; }
void uninstall() noexcept { g_hooks = hooks{}; }

void seed_random(std::uint64_t seed) noexcept {
  rng().seed(seed);
  draw_secret();
}

}  // namespace tunstack::port

extern "C" {

u32_t sys_now(void) {
  if (g_hooks.now_ms != nullptr) return g_hooks.now_ms(g_hooks.context);
  return steady_ms();
}

uint32_t tunstack_port_clock_us(void) {
  if (g_hooks.now_us != nullptr) return g_hooks.now_us(g_hooks.context);
  return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(steady_since_start()).count());
}
void tunstack_port_assert_core_locked(void) {
  if (g_hooks.on_stack_thread != nullptr && !g_hooks.on_stack_thread(g_hooks.context)) {
    std::fputs(
        "tunstack: lwIP was called from a thread that does not run the stack's io_context.\n"
        "  Every lwIP call must happen on the stack's thread: post work to stack.get_executor()\n"
        "  or use the blocking facade from other threads.\n",
        stderr);
    std::abort();
  }
}

void tunstack_port_assert_failed(const char* message, const char* file, int line) {
  std::fprintf(stderr, "tunstack: lwIP assertion failed: %s (%s:%d)\n", message, file, line);
  std::abort();
}

void tunstack_port_diag(const char* format, ...) {
  std::array<char, 512> buffer{};
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer.data(), buffer.size(), format, args);
  va_end(args);
  g_diag_line += buffer.data();
  std::size_t newline;
  while ((newline = g_diag_line.find('\n')) != std::string::npos) {
    const std::string line = g_diag_line.substr(0, newline);
    g_diag_line.erase(0, newline + 1);
    if (g_hooks.diag != nullptr) {
      g_hooks.diag(g_hooks.context, line.c_str());
    } else {
      std::fprintf(stderr, "lwip: %s\n", line.c_str());
    }
  }
}

uint32_t tunstack_port_rand(void) { return static_cast<uint32_t>(rng()()); }

u32_t tunstack_port_tcp_isn(const ip_addr_t* local_ip, u16_t local_port, const ip_addr_t* remote_ip,
                            u16_t remote_port) {
  // RFC 6528 section 3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where
  // M is a timer that ticks every 4 microseconds. sys_now() has millisecond resolution, so M
  // advances 250 ticks per millisecond; it follows the stack's clock, which keeps simulated
  // runs reproducible.
  const auto& secret = isn_secret();
  std::uint64_t h = mix(secret[0]);
  h = hash_address(h, local_ip);
  h = hash_address(h, remote_ip);
  h = mix(h ^ (static_cast<std::uint64_t>(local_port) << 16 | remote_port) ^ secret[1]);
  const auto m = static_cast<std::uint32_t>(sys_now()) * 250U;
  return static_cast<u32_t>(m + static_cast<std::uint32_t>(h));
}

}  // extern "C"

namespace {
std::uint64_t g_listen_drops = 0;
bool g_input_coalesced = false;
}  // namespace

std::uint64_t tunstack::port::listen_drops() noexcept { return g_listen_drops; }
void tunstack::port::set_input_coalesced(bool coalesced) noexcept { g_input_coalesced = coalesced; }

extern "C" err_t tunstack_port_tcp_inpacket(struct tcp_pcb* pcb, struct tcp_hdr* hdr, struct pbuf* p) {
  // Over the memory ceiling a data segment may be dropped unread (the peer sends it again).
  if (pcb != nullptr && hdr != nullptr && p != nullptr && p->tot_len > 0 && pcb->state >= ESTABLISHED &&
      g_hooks.admit_data != nullptr && !g_hooks.admit_data(g_hooks.context, pcb, hdr->seqno, p->tot_len)) {
    return ERR_MEM;
  }
  // A super-packet is many full-sized segments, and a receiver should acknowledge at least
  // every second one (RFC 9293 3.8.6.3, RFC 5681 4.2); lwIP counts it as one and would delay
  // its ACK. With TF_ACK_DELAY already set, lwIP's tcp_ack() after the data sends it at once.
  if (g_input_coalesced && pcb != nullptr && pcb->state >= ESTABLISHED && pcb->state <= FIN_WAIT_2) {
    tcp_set_flags(pcb, TF_ACK_DELAY);
  }
  // tcp_listen_input answers an ACK with a RST, ignores a RST, and drops a SYN, silently, when
  // accepts_pending >= backlog: the listener may make room first; what is dropped is counted.
  if (pcb != nullptr && hdr != nullptr && pcb->state == LISTEN &&
      (TCPH_FLAGS(hdr) & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN) {
    const auto* listener = reinterpret_cast<const struct tcp_pcb_listen*>(pcb);
    // A backlog of 0 (the acceptor's queue is full) drops the SYN; a full backlog of half-open
    // connections answers it with a SYN cookie (lwIP patch 0013), which tcp_defense_stats counts.
    if (listener->accepts_pending >= listener->backlog &&
        (g_hooks.listen_full == nullptr || !g_hooks.listen_full(g_hooks.context, pcb)) &&
        listener->backlog == 0) {
      ++g_listen_drops;
    }
  }
  return ERR_OK;
}

extern "C" struct netif* tunstack_port_route_ip4_src(const ip4_addr_t* src, const ip4_addr_t*) {
  if (src == nullptr || ip4_addr_isany(src)) return nullptr;
  struct netif* n = nullptr;
  NETIF_FOREACH(n) {
    if (netif_is_up(n) && netif_is_link_up(n) && ip4_addr_cmp(src, netif_ip4_addr(n))) return n;
  }
  return nullptr;
}
