from dockyard.cli.main import run

run()
