"""What the tests share: fake servers, generated PDFs, the test project, CLI helpers."""
