// Internal: the shared statics table "p" of a comprehension (protocol doc 5.4). Nodes nested in a
// comprehension's entries (an if inside each row, a sub-loop) would each carry the same statics;
// the client resolves an integer "s" against the outermost comprehension's "p" instead.
#pragma once

#include <boost/json/object.hpp>

namespace corvid::live::detail {

/// In place: in every outermost comprehension of `tree` (a render or a diff), statics arrays that
/// occur more than once inside its entries move into its "p" table and are named by index.
void share_statics(boost::json::object& tree);

}  // namespace corvid::live::detail
