// SPDX-License-Identifier: BSD-3-Clause
// tunstack.hpp - everything in tunstack's public API, in one include.
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

#endif  // TUNSTACK_TUNSTACK_HPP
