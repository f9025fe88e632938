// SPDX-License-Identifier: BSD-3-Clause
// echo_discard.hpp - the Echo (RFC 862) and Discard (RFC 863) services on TCP and UDP, written
// only against tunstack's public API. TCP echo is full duplex: it keeps reading while it
// writes, with at most a fixed number of chunks in flight between the two, so a client that
// sends without reading stalls on TCP flow control instead of filling memory.
#ifndef TUNSTACK_SERVICES_ECHO_DISCARD_HPP
#define TUNSTACK_SERVICES_ECHO_DISCARD_HPP

#include "counters.hpp"

#include "tunstack/stack.hpp"
#include "tunstack/tcp.hpp"
#include "tunstack/udp.hpp"

#include <cstdint>

namespace tunstack::services {

/// Largest read of an echo or discard connection: at most 32 KiB buffered per connection
/// (a connection whose writes wait, e.g. over the memory limit, holds one full buffer).
/// Reads start at echo_first_chunk and double while they come back full, so an idle
/// connection holds only a small buffer.
constexpr std::size_t echo_chunk = 32 * 1024;
constexpr std::size_t echo_first_chunk = 512;

/// Starts accepting on [::]:port (IPv4 and IPv6) and serves until the io_context stops.
/// @throws std::system_error (address_in_use) if the port is taken.
counters_ptr start_tcp_echo(tunstack::stack& st, std::uint16_t port);
counters_ptr start_tcp_discard(tunstack::stack& st, std::uint16_t port);
counters_ptr start_udp_echo(tunstack::stack& st, std::uint16_t port);
counters_ptr start_udp_discard(tunstack::stack& st, std::uint16_t port);

}  // namespace tunstack::services

#endif  // TUNSTACK_SERVICES_ECHO_DISCARD_HPP
