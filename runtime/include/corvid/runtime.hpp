#pragma once
// Everything of corvid's runtime layer in one include.

#include "corvid/runtime/codec.hpp"
#include "corvid/runtime/error.hpp"
#include "corvid/runtime/introspection.hpp"
#include "corvid/runtime/mailbox.hpp"
#include "corvid/runtime/pid.hpp"
#include "corvid/runtime/process.hpp"
#include "corvid/runtime/registry.hpp"
#include "corvid/runtime/runtime.hpp"
#include "corvid/runtime/supervisor.hpp"
#include "corvid/runtime/task.hpp"
#include "corvid/runtime/telemetry.hpp"
#include "corvid/runtime/transport.hpp"
