from dockyard.daemon.main import main

main()
