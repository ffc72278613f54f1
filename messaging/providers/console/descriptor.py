"""The console kind: a provider row that prints what it would send, texts and voice calls alike."""

from messaging.providers.descriptor import ProviderDescriptor

CONSOLE = ProviderDescriptor(
    kind="CONSOLE",
    label="Console",
    backend="messaging.backends.console.ConsoleBackend",
    voice=True,
)
