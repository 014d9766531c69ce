#pragma once
// corvid's error codes and exit reasons. Errors are values: every fallible call returns
// caf::error or caf::expected<T>; compare with `err == corvid::errc::overloaded`.

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/exit_reason.hpp>
#include <caf/make_message.hpp>

namespace corvid {

/// Failure codes of the corvid runtime (category atom "corvid").
enum class errc : uint8_t {
  overloaded = 1,          ///< the receiver's mailbox is full and its policy rejects
  would_block,             ///< backpressure: an actor sender must wait for a room notice
  timeout,                 ///< a call or a blocking send ran out of time
  down,                    ///< the target process is not alive (or died before replying)
  dropped,                 ///< the message was dropped by the receiver's overflow policy
  already_registered,      ///< a unique name is taken
  not_found,               ///< no process under that name / child id
  unexpected_message,      ///< the receiver had no handler for the request
  exception,               ///< a handler threw; context holds what()
  max_restart_intensity,   ///< a supervisor exceeded its restart intensity
  idle_timeout,            ///< a process stopped after its idle timeout
  bad_argument,            ///< invalid options or arguments
  killed,                  ///< exit reason of a process ended by exit(p, kill) (OTP's `killed`)
  noproc,                  ///< linked to or monitored a process that had already exited
  running,                 ///< restart_child/delete_child on a child that is running
  start_failed,            ///< a supervisor could not start a child (OTP's failed_to_start_child)
  noconnection,            ///< the node of a remote process is not connected (or was lost)
  no_codec,                ///< a message to another node holds a type without a registered codec
  name_conflict,           ///< a cluster-wide name was taken by an earlier claim; context names the winner
};

/// Category atom of corvid errors.
constexpr caf::atom_value errc_category = caf::atom("corvid");

/// Makes a caf::error from a corvid code (found by CAF through ADL).
caf::error make_error(errc x);
/// Same, with a human-readable context string (e.g. an exception's what()).
caf::error make_error(errc x, std::string context);

/// Short name of a code, e.g. "overloaded".
const char* to_string(errc x);

/// Renders any error (corvid, CAF exit reasons, system errors) in one readable line.
std::string describe(const caf::error& e);

/// Exit reasons, as OTP names them. A process's exit reason is a caf::error.
namespace reason {
/// Clean exit: links are not triggered, transient children are not restarted.
inline caf::error normal() { return caf::error{}; }
/// Orderly stop requested by a supervisor or the runtime (trappable).
inline caf::error shutdown() { return caf::exit_reason::user_shutdown; }
/// Untrappable kill: the target ends with reason killed(), which its links may trap (as in OTP).
inline caf::error kill() { return caf::exit_reason::kill; }
/// What a killed process exits with, and what its links and monitors receive.
inline caf::error killed() { return make_error(errc::killed); }
/// What linking to or monitoring an already dead process reports.
inline caf::error noproc() { return make_error(errc::noproc); }
/// A failure with a text, like `exit(self(), {error, Text})`.
inline caf::error error(std::string text) { return make_error(errc::exception, std::move(text)); }
/// True for the reasons OTP treats as "normal" for transient restarts (normal, shutdown).
bool is_normal(const caf::error& e);
} // namespace reason

} // namespace corvid
