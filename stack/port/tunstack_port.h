/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tunstack_port.h - the C++ side of tunstack's lwIP port: how tunstack::stack supplies lwIP's
 * clock (sys_now), the on-stack-thread check behind LWIP_ASSERT_CORE_LOCKED, lwIP's debug
 * output and its random numbers. Private to the stack library; never in a public header.
 */
#ifndef TUNSTACK_PORT_H
#define TUNSTACK_PORT_H

#include <cstddef>
#include <cstdint>

struct tcp_pcb;

namespace tunstack::port {

/// What the running stack answers for lwIP. Every function is called on the stack's thread.
struct hooks {
  /// lwIP's millisecond clock (sys_now). Wraps at 2^32 as lwIP expects.
  std::uint32_t (*now_ms)(void* context) = nullptr;
  /// The same clock in microseconds (TCP_CLOCK_US: TCP times every segment with it). Wraps at 2^32.
  std::uint32_t (*now_us)(void* context) = nullptr;
  /// True when the caller may touch lwIP now (LWIP_ASSERT_CORE_LOCKED, debug builds).
  bool (*on_stack_thread)(void* context) = nullptr;
  /// One line of lwIP debug output (without the newline).
  void (*diag)(void* context, const char* line) = nullptr;
  /// A SYN reached @p listener while lwIP's backlog (its half-open count) is used up; true if
  /// room was made for it (lwIP then takes it), false to let lwIP drop it (counted).
  bool (*listen_full)(void* context, struct tcp_pcb* listener) = nullptr;
  /// A data segment (@p length bytes of payload, sequence number @p seqno) arrived for @p pcb:
  /// false to drop it unread, as when the memory ceiling is reached (stack_options::memory_limit).
  bool (*admit_data)(void* context, struct tcp_pcb* pcb, std::uint32_t seqno, std::size_t length) = nullptr;
  void* context = nullptr;
};

/// Installs the hooks of the stack that is being created; uninstall() when it is destroyed.
void install(const hooks& h) noexcept;
void uninstall() noexcept;

/// Marks the packet handed to lwIP next as a super-packet (many segments coalesced by the
/// kernel), until called again with false: its connection acknowledges it at once.
void set_input_coalesced(bool coalesced) noexcept;

/// SYNs listeners dropped because their backlog was used up, since the process started.
std::uint64_t listen_drops() noexcept;

/// Seeds lwIP's random numbers (ports, ISN secret). The same seed gives the same sequence.
void seed_random(std::uint64_t seed) noexcept;

}  // namespace tunstack::port

#endif  // TUNSTACK_PORT_H
