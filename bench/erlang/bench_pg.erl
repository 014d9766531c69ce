%% pg (kernel) fan-out:
%%   memory_per_subscription_bytes  VM memory growth from joining 100,000 processes to a group, / N
%%   pubsub_fanout_100k_ms, pubsub_fanout_10k_ms  one broadcast (get_members + send to each) until the
%%                                  last member has received it (median of several runs)
%%   broadcasts_per_s_1k            broadcasts per second to 1,000 members, all delivered
%% Members count deliveries on a shared atomic; the one that completes the count replies.
-module(bench_pg).
-export([main/0, member/0]).

main() ->
    {ok, _} = pg:start_link(),
    M100k = spawn_members(100000),
    bench_common:figure(memory_per_subscription_bytes, join_measured(g100k, M100k), "bytes"),
    bench_common:figure(pubsub_fanout_100k_ms, fanout_ms(g100k, 100000, 7), "ms"),
    M10k = spawn_members(10000),
    ok = pg:join(g10k, M10k),
    bench_common:figure(pubsub_fanout_10k_ms, fanout_ms(g10k, 10000, 21), "ms"),
    M1k = spawn_members(1000),
    ok = pg:join(g1k, M1k),
    bench_common:figure(broadcasts_per_s_1k, broadcasts_per_s(g1k, 1000, 2000), "per_s").

spawn_members(N) ->
    Pids = [spawn(?MODULE, member, []) || _ <- lists:seq(1, N)],
    bench_common:wait_idle(),
    Pids.

member() ->
    receive
        {bcast, Counter, Expected, ReplyTo} ->
            case atomics:add_get(Counter, 1, 1) of
                Expected -> ReplyTo ! delivered;
                _ -> ok
            end,
            member()
    end.

%% Bytes of VM memory per membership (pg server state, its monitors, the ETS entry).
join_measured(Group, Pids) ->
    PgServer = whereis(pg),
    collect(PgServer),
    Mem0 = erlang:memory(total),
    ok = pg:join(Group, Pids),
    collect(PgServer),
    Mem1 = erlang:memory(total),
    round((Mem1 - Mem0) / length(Pids)).

collect(PgServer) ->
    _ = pg:which_groups(),                    % let pg finish any pending work
    erlang:garbage_collect(PgServer),
    erlang:garbage_collect().

broadcast(Group, Msg) ->
    lists:foreach(fun(P) -> P ! Msg end, pg:get_members(Group)).

fanout_ms(Group, N, Runs) ->
    one_fanout_ms(Group, N),                  % warm-up
    bench_common:median([one_fanout_ms(Group, N) || _ <- lists:seq(1, Runs)]).

one_fanout_ms(Group, N) ->
    Counter = atomics:new(1, []),
    T0 = bench_common:now_ns(),
    broadcast(Group, {bcast, Counter, N, self()}),
    receive delivered -> ok end,
    bench_common:us_since(T0) / 1000.

broadcasts_per_s(Group, N, Broadcasts) ->
    Counter = atomics:new(1, []),
    Msg = {bcast, Counter, N * Broadcasts, self()},
    T0 = bench_common:now_ns(),
    lists:foreach(fun(_) -> broadcast(Group, Msg) end, lists:seq(1, Broadcasts)),
    receive delivered -> ok end,
    Broadcasts / (bench_common:us_since(T0) / 1000000).
