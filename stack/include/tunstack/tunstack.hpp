// SPDX-License-Identifier: BSD-3-Clause
// tunstack.hpp - everything in tunstack's public API, in one include, with the parts of Asio
// that code written against it uses (the composed operations, coroutines, futures, signals):
// docs/api.md's examples compile with this include alone (tests/unit/CMakeLists.txt checks).
#ifndef TUNSTACK_TUNSTACK_HPP
#define TUNSTACK_TUNSTACK_HPP

#include "tunstack/connect.hpp"
#include "tunstack/error.hpp"
#include "tunstack/log.hpp"
#include "tunstack/netif/impaired_link.hpp"
#include "tunstack/netif/link.hpp"
#include "tunstack/netif/link_clock.hpp"
#include "tunstack/netif/manual_link_clock.hpp"
#include "tunstack/netif/memory_link.hpp"
#include "tunstack/netif/pcap_link.hpp"
#include "tunstack/netif/tun_device.hpp"
#include "tunstack/stack.hpp"
#include "tunstack/stats.hpp"
#include "tunstack/tcp.hpp"
#include "tunstack/udp.hpp"
#include "tunstack/version.hpp"

#include <asio/buffer.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/signal_set.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <asio/write.hpp>

#endif  // TUNSTACK_TUNSTACK_HPP
