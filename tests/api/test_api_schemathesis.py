"""The API document is a contract (SECURITY.md "API contract"): schemathesis walks every
operation of /api/openapi.json, once with a partner's token and once with a staff
member's (admin + finance), and every answer must pass every check below. Bounded:
EXAMPLES generated requests per operation and token (valid and invalid ones), plus
schemathesis' probes of methods the document does not list."""

import time

import pytest
import schemathesis
from conftest import api_token, make_partner, make_staff
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import NO_FEEDBACK
from schemathesis.generation.meta import CoverageScenario
from schemathesis.generation.overrides import Override
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

#: No 5xx; status code, content type, headers and body as documented; requests the
#: document forbids are refused (4xx); a method it does not list answers 405 with Allow.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance,
          negative_data_rejection, unsupported_method]

#: Generated requests per operation and token, half valid and half invalid on average.
EXAMPLES = 25

SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck), phases=["explicit", "generate"])


@pytest.fixture
def tokens(app):
    """Bearer headers for an active partner with a won deal (and a team leader, so team
    and override answers have content) and for an admin + finance staff member."""
    with app.app_context():
        leader = make_partner("Fuzz Leader", email="leader@example.com", deals=10)
        make_partner("Fuzz Partner", email="fuzz@example.com", deals=1, leader=leader)
        make_staff("fuzzstaff@example.com", ("admin", "finance"))
    client = app.test_client()
    return {"partner": api_token(client, "fuzz@example.com"),
            "staff": api_token(client, "fuzzstaff@example.com", kind="staff")}


def _undeclared_method_cases(operation):
    """schemathesis' coverage probes that send a method the path does not declare."""
    generator = CoverageGenerator(
        operation=operation, generation_modes=[GenerationMode.NEGATIVE],
        generation_config=operation.schema.config.generation_for(operation=operation,
                                                                 phase="coverage"),
        auth_storage=None, override=Override(), feedback=NO_FEEDBACK)
    return [case for case in generator
            if case.meta.phase.data.scenario == CoverageScenario.UNSPECIFIED_HTTP_METHOD]


def _fuzz(operation, headers) -> None:
    """EXAMPLES valid or invalid requests of ``operation``, each answer checked."""
    strategy = st.one_of(operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                         operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))

    @given(case=strategy)
    @SETTINGS
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_api_matches_its_document(app, tokens):
    """Every operation, as a partner and as staff; every failure is collected and
    reported together, with the operation and the token kind."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    # The tokens are ours: spend the examples on bodies and parameters, not on forging the
    # Authorization header (tests/test_bad_input.py attacks tokens).
    schema.config.generation.update(with_security_parameters=False)
    failures, ran, started = [], 0, time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        methods = _undeclared_method_cases(operation)
        for kind, headers in tokens.items():
            try:
                _fuzz(operation, headers)
                for case in methods:
                    case.call_and_validate(headers=headers, checks=CHECKS)
            except BaseException as exc:  # report every operation's failure, not the first
                if isinstance(exc, KeyboardInterrupt):
                    raise
                failures.append(f"{operation.label} as {kind}: {str(exc)[:1500]}")
            ran += 1
    assert ran >= 2 * 50, ran  # the whole document was walked, with both tokens
    assert not failures, "\n\n".join(failures)
    assert time.monotonic() - started < 600  # stays a test, not a soak
