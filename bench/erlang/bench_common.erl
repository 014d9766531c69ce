%% Shared helpers for corvid's Erlang/OTP peer benchmarks.
%% Every benchmark prints lines "figure<TAB>value<TAB>unit", the same figure names as
%% corvid's C++ benchmarks, so scripts/bench.sh can put them side by side.
-module(bench_common).
-export([figure/3, now_ns/0, us_since/1, wait_idle/0, median/1, quiet_logger/0]).

%% Print one figure line. Small values keep two decimals, large ones are rounded.
figure(Name, Value, Unit) when is_integer(Value) ->
    io:format("~s\t~b\t~s~n", [Name, Value, Unit]);
figure(Name, Value, Unit) when Value >= 1000 ->
    io:format("~s\t~b\t~s~n", [Name, round(Value), Unit]);
figure(Name, Value, Unit) when Value >= 10 ->
    io:format("~s\t~.1f\t~s~n", [Name, Value, Unit]);
figure(Name, Value, Unit) ->
    io:format("~s\t~.2f\t~s~n", [Name, Value, Unit]).

now_ns() -> erlang:monotonic_time(nanosecond).

%% Microseconds elapsed since a now_ns() reading.
us_since(T0) -> (now_ns() - T0) / 1000.

%% Wait until no process is runnable (all spawned processes have reached their receive).
wait_idle() ->
    case erlang:statistics(total_run_queue_lengths_all) of
        0 -> ok;
        _ -> receive after 1 -> wait_idle() end
    end.

median(Xs) ->
    S = lists:sort(Xs),
    N = length(S),
    case N rem 2 of
        1 -> lists:nth(N div 2 + 1, S);
        0 -> (lists:nth(N div 2, S) + lists:nth(N div 2 + 1, S)) / 2
    end.

%% Crash and supervisor reports would be formatted and printed for every one of the
%% thousands of deliberate crashes; the C++ side logs nothing either.
quiet_logger() ->
    ok = logger:set_primary_config(level, none).
