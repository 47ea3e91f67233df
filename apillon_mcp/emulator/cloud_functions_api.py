"""The public cloud-function endpoints (apillon-api.md §5): request in, state call, camelCase payload out."""

from dataclasses import replace

from apillon_mcp.emulator.listing import parse_list_query
from apillon_mcp.emulator.records import Role, Service
from apillon_mcp.emulator.routing import ApiRoute, Call, role_guard
from apillon_mcp.emulator.state import EmulatorState
from apillon_mcp.emulator.validation import parse_create_function, parse_create_job, parse_variables
from apillon_mcp.emulator.wire import Json, function_full, function_item, job_json

# Every cloud-function route runs its role guard first (apillon-api.md §2.2); the DTO checks follow in the handlers.
_EXECUTE = (role_guard(Role.EXECUTE, Service.COMPUTING),)
_WRITE = (role_guard(Role.WRITE, Service.COMPUTING),)
_READ = (role_guard(Role.READ, Service.COMPUTING),)


class CloudFunctionApi:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    def routes(self) -> list[ApiRoute]:
        return [
            ApiRoute("POST", "/cloud-functions", _WRITE, self.create_function),
            ApiRoute("GET", "/cloud-functions", _READ, self.list_functions),
            ApiRoute("GET", "/cloud-functions/{function_uuid}", _READ, self.get_function),
            ApiRoute("POST", "/cloud-functions/{function_uuid}/jobs", _WRITE, self.create_job),
            ApiRoute("POST", "/cloud-functions/{function_uuid}/environment", _EXECUTE, self.set_environment),
            ApiRoute("DELETE", "/cloud-functions/jobs/{job_uuid}", _WRITE, self.delete_job),
            ApiRoute("GET", "/project/credit", (), self.credit),
        ]

    def create_function(self, call: Call) -> Json:
        new = parse_create_function(call.body)
        function = self._state.create_function(new.name, new.description, project_uuid=call.project_uuid)
        # The service answers with the model it inserted, which never read back the database's updateTime.
        return function_full(replace(function, update_time=None), call.gateway_url(function.function_uuid), None)

    def list_functions(self, call: Call) -> Json:
        query = parse_list_query(call.query)
        rows, total = self._state.list_functions(query, project_uuid=call.project_uuid)
        return {"items": [function_item(row) for row in rows], "total": total, "page": query.page, "limit": query.limit}

    def get_function(self, call: Call) -> Json:
        function = self._state.get_function(call.params["function_uuid"], project_uuid=call.project_uuid)
        jobs = self._state.function_jobs(function, parse_list_query(call.query))
        return function_full(function, call.gateway_url(function.function_uuid), jobs)

    def create_job(self, call: Call) -> Json:
        new = parse_create_job(call.body)
        job = self._state.create_job(
            call.params["function_uuid"], new.name, new.script_cid, new.slots, project_uuid=call.project_uuid
        )
        return job_json(replace(job, update_time=None))

    def set_environment(self, call: Call) -> Json:
        variables = parse_variables(call.body)
        function = self._state.set_environment(call.params["function_uuid"], variables, project_uuid=call.project_uuid)
        return function_full(function, call.gateway_url(function.function_uuid), None)

    def delete_job(self, call: Call) -> Json:
        return job_json(self._state.delete_job(call.params["job_uuid"], project_uuid=call.project_uuid))

    def credit(self, call: Call) -> Json:
        return {"balance": self._state.credit_balance(call.project_uuid)}
