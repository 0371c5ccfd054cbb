// strongroom_client: key management and the API client. Filled by the keys issue.
#include "strongroom/crypto/init.h"
