#pragma once
// Everything of corvid's pubsub layer in one include: topics and fan-out (hub), throttle and
// debounce (limiter), Presence and its CRDT, and the cluster adapter seam.

#include "corvid/pubsub/adapter.hpp"
#include "corvid/pubsub/crdt.hpp"
#include "corvid/pubsub/hub.hpp"
#include "corvid/pubsub/limiter.hpp"
#include "corvid/pubsub/presence.hpp"
