%% The supervised child of bench_crash: a gen_server that tells the benchmark when it has
%% started, answers ping, and crashes when it receives 'crash'.
-module(bench_crash_worker).
-behaviour(gen_server).
-export([start_link/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

start_link(Notify) -> gen_server:start_link(?MODULE, Notify, []).

init(Notify) ->
    Notify ! {started, self()},
    {ok, Notify}.

handle_call(ping, _From, State) -> {reply, pong, State}.

handle_cast(_, State) -> {noreply, State}.

handle_info(crash, _State) -> exit(crash).
