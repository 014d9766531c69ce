%% pingpong_rtt_us: 1,000,000 round trips between two processes.
-module(bench_pingpong).
-export([main/0, ping/2, pong/0]).  % ping/pong also for bench_dist, across nodes

-define(N, 1000000).

main() ->
    Pong = spawn(fun pong/0),
    ping(Pong, 10000),                        % warm-up
    T0 = bench_common:now_ns(),
    ping(Pong, ?N),
    Us = bench_common:us_since(T0),
    Pong ! stop,
    bench_common:figure(pingpong_rtt_us, Us / ?N, "us").

ping(_, 0) -> ok;
ping(Pong, K) ->
    Pong ! {ping, self()},
    receive pong -> ping(Pong, K - 1) end.

pong() ->
    receive
        {ping, From} -> From ! pong, pong();
        stop -> ok
    end.
