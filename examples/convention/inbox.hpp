// A page's coalescing inbox (safe design). The live server gives every session process a
// bounded mailbox with the reject policy and no way to choose another (see the report in
// README.md), so each page puts this small process in front of it: it subscribes to the
// chair's topics in the page's place, with a bounded mailbox under overflow::coalesce keyed so
// that a newer tally or motion replaces a queued one, and hands the page one merged delivery
// at a time: the next leaves only when the page says it handled the last (inbox_ready). A
// slow page thus holds one delivery, never a backlog. It ends with its page.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "corvid/pubsub/hub.hpp"
#include "corvid/runtime/mailbox.hpp"
#include "corvid/runtime/process.hpp"

namespace convention {

/// The coalescing key of the chair's messages: "tally" and "motion" (latest wins); change
/// batches have none (each one counts; a lost one is noticed by its number).
corvid::coalesce_key_fn inbox_key();

/// Starts `page`'s inbox (from inside the page's session process) with room for `capacity`
/// messages, subscribed to `topics` before this returns.
caf::expected<corvid::pid> start_inbox(corvid::process& page, corvid::pubsub::hub& hub,
                                       const std::vector<std::string>& topics, std::size_t capacity);

}  // namespace convention
