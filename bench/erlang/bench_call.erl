%% call_throughput_per_s: one caller, 1,000,000 gen_server:call round trips.
-module(bench_call).
-behaviour(gen_server).
-export([main/0]).
-export([init/1, handle_call/3, handle_cast/2]).

-define(N, 1000000).

main() ->
    {ok, Server} = gen_server:start_link(?MODULE, [], []),
    call_n(Server, 10000),                    % warm-up
    T0 = bench_common:now_ns(),
    call_n(Server, ?N),
    Us = bench_common:us_since(T0),
    bench_common:figure(call_throughput_per_s, ?N / (Us / 1000000), "per_s").

call_n(_, 0) -> ok;
call_n(Server, K) ->
    {pong, K} = gen_server:call(Server, {ping, K}),
    call_n(Server, K - 1).

init([]) -> {ok, 0}.

handle_call({ping, X}, _From, Count) -> {reply, {pong, X}, Count + 1}.

handle_cast(_, Count) -> {noreply, Count}.
