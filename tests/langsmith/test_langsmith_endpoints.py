import pytest

from rotator.langsmith import DEFAULT_ENDPOINT, normalize_endpoint


@pytest.mark.parametrize(
    ("given", "base"),
    [
        (DEFAULT_ENDPOINT, "https://api.smith.langchain.com"),
        ("https://api.smith.langchain.com/", "https://api.smith.langchain.com"),
        ("https://eu.api.smith.langchain.com/api/v1", "https://eu.api.smith.langchain.com"),
        ("https://aws.api.smith.langchain.com/api", "https://aws.api.smith.langchain.com"),
        ("http://langsmith.internal:8080/api/v1/", "http://langsmith.internal:8080"),
        ("https://tools.example.com/langsmith/api/v1", "https://tools.example.com/langsmith"),
        ("  https://langsmith.example.com/api/  ", "https://langsmith.example.com"),
        ("https://langsmith.example.com/my-api", "https://langsmith.example.com/my-api"),
        ("https://langsmith.example.com/api/v2", "https://langsmith.example.com/api/v2"),
    ],
)
def test_endpoint_is_reduced_to_the_base_url(given: str, base: str) -> None:
    assert normalize_endpoint(given) == base
