#include "app.hpp"

int main(int argc, char** argv) {
    return nimbus::cli::run(argc, argv);
}
