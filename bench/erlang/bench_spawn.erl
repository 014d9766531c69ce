%% spawn_per_process_us, memory_per_process_bytes:
%% spawn 1,000,000 idle processes that wait in receive.
-module(bench_spawn).
-export([main/0, idle/0]).

-define(N, 1000000).

main() ->
    erlang:garbage_collect(),
    bench_common:wait_idle(),
    Procs0 = erlang:system_info(process_count),
    Mem0 = erlang:memory(processes),
    T0 = bench_common:now_ns(),
    spawn_n(?N),
    bench_common:wait_idle(),                 % every new process has run into its receive
    Us = bench_common:us_since(T0),
    Mem1 = erlang:memory(processes),
    Procs1 = erlang:system_info(process_count),
    ?N = Procs1 - Procs0,
    bench_common:figure(spawn_per_process_us, Us / ?N, "us"),
    bench_common:figure(memory_per_process_bytes, round((Mem1 - Mem0) / ?N), "bytes").

%% Pids are not kept: a list of 1M pids would itself add to the measured memory.
spawn_n(0) -> ok;
spawn_n(K) ->
    spawn(?MODULE, idle, []),
    spawn_n(K - 1).

idle() ->
    receive stop -> ok end.
